using System.Diagnostics;
using NostrRelay.Benchmarks.Client;
using NostrRelay.Benchmarks.Relay;
using NostrRelay.Benchmarks.Reporting;
using NostrRelay.Benchmarks.Workload;

namespace NostrRelay.Benchmarks.Scenarios;

/// <summary>
/// Live fan-out: many subscriber connections hold <c>{kinds:[1],since:now}</c> (EOSE seen before publishing
/// starts), then one publisher sends pre-signed events, paced (<c>live</c>) or as fast as its window allows
/// (<c>fanout</c>). Every delivery is checked off per subscriber: each event must arrive exactly once.
/// Latency runs from just before the publisher hands the EVENT to its socket to the moment a subscriber
/// reads it; events are signed before timing, so the send time is kept beside the event (the subscribers
/// are in this process) rather than inside its signed content. A warm-up round of the same kind goes first,
/// delivered to everyone before timing starts.
/// </summary>
internal static class LiveScenario
{
    private const int ConnectConcurrency = 16;

    public static async Task RunAsync(ScenarioContext context, bool paced)
    {
        var options = context.Options;
        var report = context.Report;
        var name = paced ? "live" : "fanout";
        var warmUp = options.LiveWarmUpEvents;
        var timed = options.LiveEvents;
        var total = warmUp + timed;   // events [0, warmUp) warm up, [warmUp, total) are timed
        ScenarioContext.Progress($"{name}: signing {timed:N0} + {warmUp:N0} warm-up events");
        var since = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var authors = Authors.Create(options.LiveAuthors, seed: paced ? 6 : 7);
        var drafts = new EventDraft[total];
        for (var i = 0; i < total; i++) drafts[i] = new EventDraft(i % authors.Count, since, 1, [], $"{name} event {i}: hello, subscribers");
        var events = EventSigning.Sign(authors, drafts);
        var index = new Dictionary<ulong, int>(total);
        for (var i = 0; i < total; i++) index[events[i].Key] = i;
        var sentAt = new long[total];

        var rounds = new List<Round>();
        var tally = new DeliveryTally();
        for (var round = 1; round <= options.Rounds; round++)
            if (await RunRoundAsync(context, paced, $"{name} round {round}", events, index, sentAt, warmUp, since, tally) is { } result) rounds.Add(result);
        Round.ReportMedian(report, name, paced ? "delivery p50" : "deliveries/s", rounds);
        // Over every round, not only the median one: a single lost delivery anywhere must show in the table.
        var over = options.Rounds == 1 ? "" : $" over {options.Rounds} rounds";
        report.Row($"{name}: deliveries missing / duplicate (of {Report.Count(tally.Expected)}{over})",
            $"{Report.Count(tally.Expected - tally.Delivered)} / {Report.Count(tally.Duplicates)}");
    }

    /// <summary>One round on a fresh relay and store; null when it went wrong (the problems are reported).</summary>
    private static async Task<Round?> RunRoundAsync(ScenarioContext context, bool paced, string name, SignedEvent[] events, Dictionary<ulong, int> index,
        long[] sentAt, int warmUp, long since, DeliveryTally tally)
    {
        var options = context.Options;
        var report = context.Report;
        var total = events.Length;
        var timed = total - warmUp;
        int? rate = paced ? options.LiveEventsPerSecond : null;
        await using var relay = await context.StartRelayAsync();
        ScenarioContext.Progress($"{name}: relay pid {relay.Pid} ({relay.Verifier}, {relay.Store}); {options.Subscribers} subscribers");
        using var watchdog = new Watchdog(options.StallTimeout);
        var subscribers = new LiveSubscriber[options.Subscribers];
        RelayClient? publisherClient = null;
        try
        {
            await SubscribeAllAsync([relay.Uri], subscribers, since, () => new LiveSubscriber(total, warmUp, index, sentAt), watchdog);
            publisherClient = await RelayClient.ConnectAsync(relay.Uri, TimeSpan.FromSeconds(10), watchdog.Token);

            ScenarioContext.Progress($"{name}: warming up with {warmUp:N0} events");
            var warming = new LivePublisher(publisherClient, events, 0, warmUp, index, sentAt, rate, options.EventsInFlight);
            var warmUpFailed = await RunPhaseAsync(subscribers, warming, warmUp, watchdog);
            if (watchdog.Stalled || warmUpFailed is not null)
            {
                report.Problem($"{name}: warm-up did not complete ({(watchdog.Stalled ? "stalled" : warmUpFailed)}); " +
                    $"fewest warm-up events received by a subscriber: {subscribers.Min(s => s.Unique)} of {warmUp}");
                return null;
            }

            ScenarioContext.Progress($"{name}: publishing {timed:N0} events {(paced ? $"at {rate}/s" : "unpaced")}");
            var allocatedBefore = await relay.ReadAllocatedBytesAsync();
            var relayCpu = relay.CpuTime;
            var ownCpu = ProcessCpu.ReadSelf();
            var publisher = new LivePublisher(publisherClient, events, warmUp, timed, index, sentAt, rate, options.EventsInFlight);
            var started = Stopwatch.GetTimestamp();
            var failed = await RunPhaseAsync(subscribers, publisher, total, watchdog);
            relayCpu = relay.CpuTime - relayCpu;
            ownCpu = ProcessCpu.ReadSelf() - ownCpu;
            var allocatedAfter = await relay.ReadAllocatedBytesAsync();
            var allocated = allocatedAfter - allocatedBefore;

            var deliveries = subscribers.Sum(s => (long)s.TimedUnique);
            var expected = (long)timed * subscribers.Length;
            var duplicates = subscribers.Sum(s => (long)s.Duplicates);
            tally.Expected += expected;
            tally.Delivered += deliveries;
            tally.Duplicates += duplicates;
            var lastDelivery = subscribers.Max(s => s.LastDeliveryAt);
            var deliveryWindow = TimeSpan.FromSeconds((double)(lastDelivery - started) / Stopwatch.Frequency);
            var latencies = Latencies.Merge(subscribers.Select(s => s.Latencies));
            var publishSeconds = (double)(publisher.LastSentAt - started) / Stopwatch.Frequency;

            var p50 = latencies.PercentileMs(50);
            var deliveriesPerSecond = deliveries / deliveryWindow.TotalSeconds;
            var result = paced ? new Round(p50, $"{Report.Ms(p50)} ms") : new Round(deliveriesPerSecond, Report.Count(deliveriesPerSecond));
            var shape = $"{Report.Count(subscribers.Length)} subscribers";
            if (paced)
            {
                result.Row($"live fan-out, {shape}, {Report.Count(timed)} events at {rate}/s: delivery p50 / p99", latencies.P50P99());
            }
            else
            {
                result.Row($"live fan-out unpaced, {shape} × {Report.Count(timed)} events: deliveries/s", Report.Count(deliveriesPerSecond));
                result.Row("same, unpaced: delivery p50 / p99", latencies.P50P99());
            }
            result.Row($"{Kind(paced)}: relay CPU per delivery", $"{Report.Fixed(relayCpu.TotalMilliseconds * 1000 / Math.Max(deliveries, 1), "0.0")} µs");
            if (allocatedBefore >= 0 && allocatedAfter >= 0)
                result.Row($"{Kind(paced)}: relay bytes allocated per event / per delivery (whole process)",
                $"{Report.Count(allocated / (double)Math.Max(timed, 1))} / {Report.Count(allocated / (double)Math.Max(deliveries, 1))}");
            result.Note($"{Kind(paced)}: {Report.Count(timed)} events published in {Report.Fixed(publishSeconds, "0.00")} s " +
                $"({Report.Count((timed - 1) / Math.Max(publishSeconds, 1e-9))}/s) after {Report.Count(warmUp)} warm-up events; {publisher.Accepted} OK true, " +
                $"OK latency p50 / p99 {publisher.OkLatencies.P50P99()} (the commit every delivery waits for); last delivery " +
                $"{Report.Fixed(deliveryWindow.TotalSeconds, "0.00")} s after the first send; relay CPU {Report.Fixed(relayCpu.TotalSeconds, "0.00")} s, " +
                $"load generator CPU {Report.Fixed(ownCpu.TotalSeconds, "0.00")} s.");

            if (watchdog.Stalled) report.Problem($"{name}: stall: no delivery or OK for {options.StallTimeout.TotalSeconds:0} s");
            if (failed is not null) report.Problem($"{name}: a connection failed: {failed}");
            if (expected != deliveries)
            {
                var shortOnes = subscribers.Count(s => s.TimedUnique < timed);
                report.Problem($"{name}: {Report.Count(expected - deliveries)} deliveries missing, on {shortOnes} of {subscribers.Length} subscribers " +
                    $"(fewest received: {subscribers.Min(s => s.TimedUnique)} of {timed})");
            }
            if (duplicates > 0) report.Problem($"{name}: {Report.Count(duplicates)} duplicate deliveries");
            if (publisher.Accepted != timed) report.Problem($"{name}: {publisher.Accepted} of {timed} events got OK true");
            foreach (var problem in warming.Problems.Concat(publisher.Problems)) report.Problem($"{name} publisher: {problem}");
            foreach (var problem in subscribers.SelectMany(s => s.Problems).Distinct().Take(10)) report.Problem($"{name} subscriber: {problem}");
            return deliveries > 0 ? result : null;
        }
        finally
        {
            if (publisherClient is not null) await publisherClient.DisposeAsync();
            foreach (var subscriber in subscribers) if (subscriber is not null) await subscriber.DisposeAsync();
            context.CollectRelayProblems(relay, name);
        }
    }

    private static string Kind(bool paced) => paced ? "live" : "fanout";

    /// <summary>Connects and subscribes every subscriber, a few at a time; subscriber s on <paramref name="relays"/>[s % relays.Length].</summary>
    internal static async Task SubscribeAllAsync(Uri[] relays, LiveSubscriber[] subscribers, long since, Func<LiveSubscriber> create, Watchdog watchdog)
    {
        using var gate = new SemaphoreSlim(ConnectConcurrency);
        var subscribing = new Task[subscribers.Length];
        for (var s = 0; s < subscribers.Length; s++)
        {
            var subscriber = subscribers[s] = create();
            var relay = relays[s % relays.Length];
            subscribing[s] = Task.Run(async () =>
            {
                await gate.WaitAsync();
                try
                {
                    await subscriber.SubscribeAsync(relay, since, watchdog.Token);
                    watchdog.Tick();
                }
                finally
                {
                    gate.Release();
                }
            });
        }
        await Task.WhenAll(subscribing).WaitAsync(TimeSpan.FromSeconds(60));
    }

    /// <summary>Publishes and waits until every subscriber has <paramref name="untilUnique"/> distinct events; the first failure, or null.</summary>
    internal static async Task<string?> RunPhaseAsync(LiveSubscriber[] subscribers, LivePublisher publisher, int untilUnique, Watchdog watchdog)
    {
        var tasks = new Task[subscribers.Length + 1];
        for (var s = 0; s < subscribers.Length; s++) tasks[s] = subscribers[s].ReceiveAsync(untilUnique, watchdog);
        tasks[^1] = publisher.RunAsync(watchdog);
        try
        {
            await Task.WhenAll(tasks);
        }
        catch (Exception) when (watchdog.Token.IsCancellationRequested)
        {
        }
        foreach (var task in tasks)
            if (task.Exception?.GetBaseException() is { } failure && failure is not OperationCanceledException)
                return failure.Message;
        return null;
    }

    private sealed class DeliveryTally
    {
        public long Expected;
        public long Delivered;
        public long Duplicates;
    }
}
