using NostrRelay.Benchmarks.Relay;
using NostrRelay.Benchmarks.Reporting;
using NostrRelay.Benchmarks.Workload;

namespace NostrRelay.Benchmarks.Scenarios;

/// <summary>
/// Ingest: kind-1 events from many authors over 4 connections, each with a window of EVENTs awaiting their
/// OK; events signed before timing, a fresh store, OK only after the relay's own commit. A short warm-up
/// from other authors goes first so the relay's JIT is not what is measured.
/// </summary>
internal static class IngestScenario
{
    public static async Task RunAsync(ScenarioContext context)
    {
        var options = context.Options;
        var report = context.Report;
        ScenarioContext.Progress($"ingest: signing {options.IngestEvents:N0} + {options.WarmUpEvents:N0} warm-up events");
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var authors = Authors.Create(options.IngestAuthors, seed: 1);
        var events = EventSigning.Sign(authors, Notes(options.IngestEvents, authors.Count, now - 3_600, "ingest"));
        var warmUpAuthors = Authors.Create(100, seed: 2);
        var warmUp = EventSigning.Sign(warmUpAuthors, Notes(options.WarmUpEvents, warmUpAuthors.Count, now - 7_200, "warm-up"));
        // Round-robin dealing with 1,000 authors over 4 connections keeps each author on one connection, as a client would.
        var lanes = EventSigning.Deal(events, options.Connections);

        var rounds = new List<Round>();
        for (var round = 1; round <= options.Rounds; round++)
            if (await RunRoundAsync(context, round, lanes, warmUp) is { } result) rounds.Add(result);
        Round.ReportMedian(report, "ingest", "accepted/s", rounds);
    }

    /// <summary>One round on a fresh relay and store; null when it went wrong (the problems are reported).</summary>
    private static async Task<Round?> RunRoundAsync(ScenarioContext context, int round, SignedEvent[][] lanes, SignedEvent[] warmUp)
    {
        var options = context.Options;
        var report = context.Report;
        await using var relay = await context.StartRelayAsync();
        try
        {
            ScenarioContext.Progress($"ingest round {round}: relay pid {relay.Pid} ({relay.Verifier}, {relay.Store}); warming up");
            var warm = await Publisher.PublishAsync(relay.Uri, EventSigning.Deal(warmUp, options.Connections), options.EventsInFlight, options.StallTimeout);
            foreach (var problem in warm.Problems) report.Problem("ingest warm-up: " + problem);

            ScenarioContext.Progress($"ingest round {round}: timing");
            var allocatedBefore = await relay.ReadAllocatedBytesAsync();
            var relayCpu = relay.CpuTime;
            var ownCpu = ProcessCpu.ReadSelf();
            var outcome = await Publisher.PublishAsync(relay.Uri, lanes, options.EventsInFlight, options.StallTimeout);
            relayCpu = relay.CpuTime - relayCpu;
            ownCpu = ProcessCpu.ReadSelf() - ownCpu;
            var allocatedAfter = await relay.ReadAllocatedBytesAsync();

            foreach (var problem in outcome.Problems) report.Problem($"ingest round {round}: {problem}");
            if (outcome.Accepted != options.IngestEvents)
            {
                report.Problem($"ingest round {round}: {Report.Count(outcome.Accepted)} of {Report.Count(options.IngestEvents)} events accepted");
                return null;
            }

            var result = new Round(outcome.AcceptedPerSecond, Report.Count(outcome.AcceptedPerSecond));
            var label = $"ingest {Report.Count(options.IngestEvents)} kind-1 events, {Report.Count(options.IngestAuthors)} authors, " +
                $"{options.Connections} connections ({options.EventsInFlight} in flight each)";
            result.Row($"{label}: accepted/s", Report.Count(outcome.AcceptedPerSecond));
            result.Row("ingest: relay CPU per event", $"{Report.Fixed(relayCpu.TotalMilliseconds / Math.Max(outcome.Accepted, 1), "0.000")} ms");
            if (allocatedBefore >= 0 && allocatedAfter >= 0)
                result.Row("ingest: relay bytes allocated per event (whole process)", Report.Count((allocatedAfter - allocatedBefore) / (double)Math.Max(outcome.Accepted, 1)));
            result.Row($"ingest {Report.Count(options.IngestEvents / options.Connections)} × {options.Connections} connections: OK latency p50 / p99", outcome.Latencies.P50P99());
            result.Row("ingest: signature verifier (as the relay announced it)", relay.Verifier);
            result.Note($"ingest: {Report.Count(outcome.Accepted)} accepted of {Report.Count(options.IngestEvents)} in {Report.Fixed(outcome.Elapsed.TotalSeconds, "0.00")} s " +
                $"(first send to last OK), after a warm-up of {Report.Count(options.WarmUpEvents)} events from 100 other authors; relay CPU " +
                $"{Report.Fixed(relayCpu.TotalSeconds, "0.00")} s, load generator CPU {Report.Fixed(ownCpu.TotalSeconds, "0.00")} s.");
            return result;
        }
        finally
        {
            context.CollectRelayProblems(relay, $"ingest round {round}");
        }
    }

    /// <summary>Kind-1 notes, author i % authors, each author's in increasing created_at; ~100 bytes of content like a short post.</summary>
    internal static EventDraft[] Notes(int count, int authors, long firstCreatedAt, string label)
    {
        var drafts = new EventDraft[count];
        for (var i = 0; i < count; i++)
            drafts[i] = new EventDraft(i % authors, firstCreatedAt + i / authors, 1, [],
                $"{label} note {i}: the quick brown fox jumps over the lazy dog, then rests a while in the shade.");
        return drafts;
    }
}
