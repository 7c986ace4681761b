using System.Diagnostics;
using System.Text;
using NostrRelay.Benchmarks.Client;
using NostrRelay.Benchmarks.Relay;
using NostrRelay.Benchmarks.Reporting;
using NostrRelay.Benchmarks.Workload;

namespace NostrRelay.Benchmarks.Scenarios;

/// <summary>
/// Queries: a store preloaded through the relay's own EVENT path (kind 1 mostly, some kind 7, each with a
/// <c>p</c> tag from a pool, created_at spread over 30 days), then per shape 4 connections each issue REQs
/// one after another: REQ, read to EOSE, CLOSE, next REQ with a new subscription id.
/// </summary>
internal static class QueryScenario
{
    private const int Limit = 20;
    private static readonly TimeSpan Spread = TimeSpan.FromDays(30);

    public static async Task RunAsync(ScenarioContext context)
    {
        var options = context.Options;
        var report = context.Report;
        ScenarioContext.Progress($"queries: signing {options.PreloadEvents:N0} events");
        var authors = Authors.Create(options.PreloadAuthors, seed: 3);
        var tagged = Authors.RandomPubkeys(options.TaggedPubkeys, seed: 4);
        var events = EventSigning.Sign(authors, Preload(options.PreloadEvents, authors.Count, tagged, DateTimeOffset.UtcNow.ToUnixTimeSeconds()));
        var stored = options.PreloadEvents + authors.Count;

        await using var relay = await context.StartRelayAsync();
        ScenarioContext.Progress($"queries: relay pid {relay.Pid} ({relay.Verifier}, {relay.Store}); preloading");
        var preload = await Publisher.PublishAsync(relay.Uri, EventSigning.Deal(events, options.Connections), options.EventsInFlight, TimeSpan.FromSeconds(30));
        report.Row($"queries: preload {Report.Count(stored)} events (kinds 1 and 7 with p tags, a profile per author) over EVENT: accepted/s", Report.Count(preload.AcceptedPerSecond));
        foreach (var problem in preload.Problems) report.Problem("queries preload: " + problem);
        if (preload.Accepted != stored)
        {
            report.Problem($"queries: preload stored {Report.Count(preload.Accepted)} of {Report.Count(stored)} events; queries not run");
            context.CollectRelayProblems(relay, "queries");
            return;
        }

        QueryShape[] shapes =
        [
            new("{kinds:[1],limit:20}", "k", _ => $"{{\"kinds\":[1],\"limit\":{Limit}}}"),
            new($"{{authors:[one of {Report.Count(authors.Count)}],limit:20}}", "a",
                random => $"{{\"authors\":[\"{authors.Pubkeys[random.Next(authors.Count)]}\"],\"limit\":{Limit}}}"),
            new($"{{#p:[one of {Report.Count(tagged.Length)}],limit:20}}", "p",
                random => $"{{\"#p\":[\"{tagged[random.Next(tagged.Length)]}\"],\"limit\":{Limit}}}"),
            // What a client asks about the people it follows: their profiles, and the notes that mention them.
            new($"{{authors:[{Follows} of {Report.Count(authors.Count)}],kinds:[0]}}", "f",
                random => $"{{\"authors\":[{Quoted(Pick(random, authors.Pubkeys, Follows))}],\"kinds\":[0]}}"),
            new($"{{#p:[{Follows} of {Report.Count(tagged.Length)}],limit:20}}", "m",
                random => $"{{\"#p\":[{Quoted(Pick(random, tagged, Follows))}],\"limit\":{Limit}}}"),
        ];

        var clients = new RelayClient[options.Connections];
        try
        {
            for (var i = 0; i < clients.Length; i++) clients[i] = await RelayClient.ConnectAsync(relay.Uri, TimeSpan.FromSeconds(10), CancellationToken.None);
            var seed = 100;
            foreach (var shape in shapes)
            {
                ScenarioContext.Progress($"queries: {shape.Label}");
                await RunShapeAsync(context, relay, clients, shape, options.WarmUpQueriesPerShape, seed++, TimeSpan.FromSeconds(30), phase: "warm-up");
                var rounds = new List<Round>();
                for (var round = 1; round <= options.Rounds; round++)
                    if (await RunShapeAsync(context, relay, clients, shape, options.QueriesPerShape, seed++, options.QueryTimeCap, phase: $"round {round}") is { } result)
                        rounds.Add(result);
                Round.ReportMedian(report, $"queries {shape.Label}", "queries/s", rounds);
            }
        }
        finally
        {
            foreach (var client in clients) if (client is not null) await client.DisposeAsync();
        }
        report.Note($"queries: {Report.Count(options.PreloadEvents)} events preloaded in {Report.Fixed(preload.Elapsed.TotalSeconds, "0.0")} s; " +
            $"each shape first ran {options.WarmUpQueriesPerShape} untimed queries, then {options.Rounds} round(s) of {Report.Count(options.QueriesPerShape)} on the same store; queries/s = completed REQ→EOSE (plus CLOSE) over wall time, 4 connections each waiting for EOSE before its next REQ.");
        context.CollectRelayProblems(relay, "queries");
    }

    /// <summary>One batch of queries of one shape; its figures, or null for the warm-up and for a batch that went wrong.</summary>
    private static async Task<Round?> RunShapeAsync(ScenarioContext context, RelayProcess relay, RelayClient[] clients, QueryShape shape, int total, int seed,
        TimeSpan cap, string phase)
    {
        var options = context.Options;
        var report = context.Report;
        var random = new Random(seed);
        var lanes = new Query[clients.Length][];
        for (var lane = 0; lane < clients.Length; lane++)
        {
            var count = (total - lane + clients.Length - 1) / clients.Length;
            lanes[lane] = new Query[count];
            for (var i = 0; i < count; i++)
            {
                var subscriptionId = $"{shape.Prefix}{seed}-{lane}-{i}";
                lanes[lane][i] = new Query(ClientFrames.Req(subscriptionId, shape.Filter(random)), ClientFrames.Close(subscriptionId), Encoding.UTF8.GetBytes(subscriptionId));
            }
        }

        using var watchdog = new Watchdog(options.StallTimeout);
        var results = new LaneResult[clients.Length];
        var deadline = Stopwatch.GetTimestamp() + (long)(cap.TotalSeconds * Stopwatch.Frequency);
        var relayCpu = relay.CpuTime;
        var started = Stopwatch.GetTimestamp();
        var tasks = new Task[clients.Length];
        for (var lane = 0; lane < clients.Length; lane++)
        {
            results[lane] = new LaneResult(lanes[lane].Length);
            tasks[lane] = RunLaneAsync(clients[lane], lanes[lane], results[lane], deadline, watchdog);
        }
        try
        {
            await Task.WhenAll(tasks);
        }
        catch (Exception) when (watchdog.Token.IsCancellationRequested)
        {
        }
        var elapsed = Stopwatch.GetElapsedTime(started);
        relayCpu = relay.CpuTime - relayCpu;

        var completed = results.Sum(r => r.Latencies.Count);
        var latencies = Latencies.Merge(results.Select(r => r.Latencies));
        var timed = phase != "warm-up";
        phase = $"queries {shape.Label} {phase}";
        if (watchdog.Stalled) report.Problem($"{phase}: stall: no EOSE for {options.StallTimeout.TotalSeconds:0} s after {Report.Count(completed)} of {Report.Count(total)} queries");
        foreach (var task in tasks)
            if (task.Exception?.GetBaseException() is { } failure && failure is not OperationCanceledException)
                report.Problem($"{phase}: connection failed: {failure.Message}");
        foreach (var lane in results)
            foreach (var problem in lane.Problems) report.Problem($"{phase}: {problem}");
        if (!timed) return null;
        if (completed < total)
        {
            report.Problem($"{phase}: only {Report.Count(completed)} of {Report.Count(total)} queries ran within {cap.TotalSeconds:0} s (the store is slow for this shape)");
            if (completed == 0) return null;
        }

        var events = results.Sum(r => r.Events);
        var perSecond = completed / elapsed.TotalSeconds;
        var result = new Round(perSecond, Report.Count(perSecond));
        result.Row($"{Report.Count(completed)} REQs {shape.Label} on {Report.Count(options.PreloadEvents)} events: queries/s", Report.Count(perSecond));
        result.Row($"same {shape.Label}: REQ→EOSE p50 / p99", latencies.P50P99());
        result.Row($"same {shape.Label}: relay CPU per query", $"{Report.Fixed(relayCpu.TotalMilliseconds / Math.Max(completed, 1), "0.00")} ms");
        result.Note($"queries {shape.Label}: {Report.Count(completed)} in {Report.Fixed(elapsed.TotalSeconds, "0.00")} s, " +
            $"{Report.Fixed((double)events / Math.Max(completed, 1), "0.0")} events per query (limit {Limit}).");
        return result;
    }

    private static async Task RunLaneAsync(RelayClient client, Query[] queries, LaneResult result, long deadline, Watchdog watchdog)
    {
        var token = watchdog.Token;
        try
        {
            foreach (var query in queries)
            {
                if (Stopwatch.GetTimestamp() > deadline) return;
                var started = Stopwatch.GetTimestamp();
                await client.SendAsync(query.Req, token);
                while (true)
                {
                    var frame = await client.ReceiveAsync(token);
                    var step = Handle(frame.Span, query.SubscriptionId, result);
                    if (step == Step.Continue) continue;
                    if (step == Step.Done) result.Latencies.Add(Stopwatch.GetTimestamp() - started);
                    break;
                }
                watchdog.Tick();
                await client.SendAsync(query.Close, token);
            }
        }
        catch
        {
            watchdog.Abort();
            throw;
        }
    }

    private static Step Handle(ReadOnlySpan<byte> frame, byte[] subscriptionId, LaneResult result)
    {
        if (Reply.IsAuthChallenge(frame)) return Step.Continue;   // the first frame of a connection (NIP-42)
        var reply = Reply.Read(frame);
        var ours = reply.SubscriptionId.SequenceEqual(subscriptionId);
        switch (reply.Kind)
        {
            case ReplyKind.Event when ours:
                result.Events++;
                return Step.Continue;
            case ReplyKind.EndOfStoredEvents when ours:
                return Step.Done;
            case ReplyKind.Closed when ours:
                result.AddProblem($"CLOSED instead of EOSE: {reply.Message}");
                return Step.Refused;
            case ReplyKind.Notice:
                result.AddProblem("NOTICE: " + reply.Message);
                return Step.Continue;
            default:
                result.AddProblem("frame for another subscription or of an unexpected type: " + Encoding.UTF8.GetString(frame[..Math.Min(frame.Length, 100)]));
                return Step.Continue;
        }
    }

    /// <summary>How many pubkeys a follow list names in the shapes that take one.</summary>
    private const int Follows = 50;

    private static IEnumerable<string> Pick(Random random, IReadOnlyList<string> pool, int count) =>
        Enumerable.Range(0, count).Select(_ => pool[random.Next(pool.Count)]);

    private static string Quoted(IEnumerable<string> values) => string.Join(',', values.Select(value => $"\"{value}\""));

    /// <summary>
    /// Kind 1 (nine in ten) and kind 7 reactions, each with one p tag from the pool; author i % authors. Then a profile
    /// (kind 0) of each author, set before the notes' 30 days.
    /// </summary>
    private static EventDraft[] Preload(int count, int authors, string[] tagged, long now)
    {
        var random = new Random(5);
        var drafts = new EventDraft[count + authors];
        for (var author = 0; author < authors; author++)
            drafts[count + author] = new EventDraft(author, now - (long)Spread.TotalSeconds - 86_400 - author, 0, [], $$"""{"name":"author {{author}}"}""");
        var hex = new byte[32];
        for (var i = 0; i < count; i++)
        {
            var createdAt = now - random.NextInt64((long)Spread.TotalSeconds);
            var p = tagged[random.Next(tagged.Length)];
            if (i % 10 == 9)
            {
                random.NextBytes(hex);
                drafts[i] = new EventDraft(i % authors, createdAt, 7, [["e", Convert.ToHexStringLower(hex)], ["p", p]], "+");
            }
            else
            {
                drafts[i] = new EventDraft(i % authors, createdAt, 1, [["p", p]],
                    $"stored note {i}: the quick brown fox jumps over the lazy dog, then rests a while in the shade.");
            }
        }
        return drafts;
    }

    private enum Step { Continue, Done, Refused }

    private sealed record Query(byte[] Req, byte[] Close, byte[] SubscriptionId);

    private sealed class LaneResult(int capacity)
    {
        public Latencies Latencies { get; } = new(capacity);
        public long Events { get; set; }
        public List<string> Problems { get; } = [];

        public void AddProblem(string problem)
        {
            if (Problems.Count < 5) Problems.Add(problem);
        }
    }
}
