using System.Diagnostics;
using NostrRelay.Benchmarks.Client;
using NostrRelay.Benchmarks.Relay;
using NostrRelay.Benchmarks.Reporting;
using NostrRelay.Benchmarks.Workload;

namespace NostrRelay.Benchmarks.Scenarios;

/// <summary>
/// The relay as a cluster of 1, 2 and 3 Combined silos (ADO.NET clustering and a shared Postgres store on the
/// test PostgreSQL). Every round starts a fresh cluster of each size in turn, so a drift of the machine touches
/// every size alike, and runs on it:
/// ingest (the ingest scenario's workload, its 4 connections dealt round-robin over the silos' gateways);
/// live (subscribers dealt round-robin over the gateways, one publisher on silo 1's gateway at a steady rate;
/// deliveries to subscribers on silo 1 and on the other silos are timed apart);
/// fan-out (the same with fresh subscribers and an unpaced publisher).
/// All processes and the load generator share this machine's cores, so a bigger cluster brings no more CPU:
/// the ratio between sizes is the cost of the cluster's extra hops, not the capacity of more machines.
/// </summary>
internal static class ClusterSizesScenario
{
    private const string Name = "cluster-sizes";

    /// <summary>Ingest authors followed by <see cref="Followers"/> subscribers on silo 1's gateway during ingest (a tenth of 1,000).</summary>
    private const int FollowedAuthors = 100;
    private const int Followers = 10;

    public static async Task RunAsync(ScenarioContext context)
    {
        var options = context.Options;
        await RelayCluster.CheckDatabaseAsync();
        var workload = Sign(options);
        var sizes = options.ClusterSizes;
        var results = new SizeResults[sizes.Length];
        for (var s = 0; s < sizes.Length; s++) results[s] = new SizeResults(sizes[s]);
        for (var round = 1; round <= options.Rounds; round++)
            foreach (var result in results)
                await RunClusterAsync(context, workload, result, round);
        ReportFigures(context, results);
    }

    private static Workload Sign(BenchmarkOptions options)
    {
        var live = options.LiveWarmUpEvents + options.LiveEvents;
        ScenarioContext.Progress($"{Name}: signing {options.IngestEvents:N0} + {options.WarmUpEvents:N0} ingest, {live:N0} live and {options.LiveEvents:N0} fan-out events");
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var authors = Authors.Create(options.IngestAuthors, seed: 1);
        var ingest = EventSigning.Sign(authors, IngestScenario.Notes(options.IngestEvents, authors.Count, now - 3_600, "ingest"));
        var warmUpAuthors = Authors.Create(100, seed: 2);
        var warmUp = EventSigning.Sign(warmUpAuthors, IngestScenario.Notes(options.WarmUpEvents, warmUpAuthors.Count, now - 7_200, "warm-up"));
        // The live events' created_at is the live subscribers' since; the fan-out's is one second later, so
        // the fan-out's fresh subscribers find no stored live events to page through before their EOSE.
        return new Workload(
            authors.Pubkeys[..Math.Min(FollowedAuthors, authors.Count)], now - 3_600,
            EventSigning.Deal(ingest, options.Connections),
            EventSigning.Deal(warmUp, options.Connections),
            LiveEvents.Sign(options.LiveAuthors, seed: 6, "cluster live", live, now),
            LiveEvents.Sign(options.LiveAuthors, seed: 7, "cluster fanout", options.LiveEvents, now + 1));
    }

    private static async Task RunClusterAsync(ScenarioContext context, Workload workload, SizeResults result, int round)
    {
        var options = context.Options;
        var report = context.Report;
        var label = $"{Name} {Silos(result.Size)} round {round}";
        ScenarioContext.Progress($"{label}: starting the cluster");
        RelayCluster cluster;
        try
        {
            cluster = await context.StartClusterAsync(result.Size);
        }
        catch (Exception ex) when (ex is InvalidOperationException or TimeoutException)
        {
            report.Problem($"{label}: the cluster did not start: {ex.Message}");
            return;
        }
        await using (cluster)
        {
            try
            {
                var gateways = cluster.Silos.Select(s => s.Uri).ToArray();
                ScenarioContext.Progress($"{label}: pids {string.Join(", ", cluster.Silos.Select(s => s.Pid))} ({cluster.Silos[0].Store}); ingest");
                await IngestAsync(context, cluster, gateways, workload, result, label);
                await LiveAsync(context, cluster, gateways, workload.Live, options.LiveWarmUpEvents, paced: true, result, label);
                await LiveAsync(context, cluster, gateways, workload.Fanout, 0, paced: false, result, label);
            }
            finally
            {
                for (var s = 0; s < cluster.Silos.Count; s++) context.CollectRelayProblems(cluster.Silos[s], $"{label}, silo {s + 1}");
            }
        }
    }

    private static async Task IngestAsync(ScenarioContext context, RelayCluster cluster, Uri[] gateways, Workload workload, SizeResults result, string label)
    {
        var options = context.Options;
        var report = context.Report;
        var warm = await Publisher.PublishAsync(gateways, workload.IngestWarmUp, options.EventsInFlight, options.StallTimeout);
        foreach (var problem in warm.Problems) report.Problem($"{label} ingest warm-up: {problem}");

        // Subscribers sit on silo 1 and follow a tenth of the authors: the other silos' events for the rest go nowhere.
        using var opening = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await using var followers = await IngestFollowers.OpenAsync(gateways[0], workload.Followed, Followers, workload.IngestSince, opening.Token);
        var followedEvents = workload.Ingest.Sum(lane => lane.Count(e => workload.Followed.Contains(e.Pubkey)));

        var hopsBefore = await PeerHopsAsync(cluster);
        var relayCpu = cluster.CpuTime;
        var ownCpu = ProcessCpu.ReadSelf();
        var machineCpu = ProcessCpu.ReadMachine();
        var outcome = await Publisher.PublishAsync(gateways, workload.Ingest, options.EventsInFlight, options.StallTimeout);
        relayCpu = cluster.CpuTime - relayCpu;
        ownCpu = ProcessCpu.ReadSelf() - ownCpu;
        machineCpu = ProcessCpu.ReadMachine() - machineCpu;
        foreach (var problem in outcome.Problems) report.Problem($"{label} ingest: {problem}");
        var followed = await followers.WaitForAsync(followedEvents, TimeSpan.FromSeconds(10));
        var hops = await PeerHopsAsync(cluster);
        var sentPerEvent = (hops.Sent - hopsBefore.Sent) / Math.Max(outcome.Accepted, 1);
        var keptPerEvent = (hops.Kept - hopsBefore.Kept) / Math.Max(outcome.Accepted, 1);
        if (followed != followedEvents) report.Problem($"{label} ingest: followers on silo 1 received {Report.Count(followed)} of {Report.Count(followedEvents)} events");
        if (outcome.Accepted != options.IngestEvents)
        {
            report.Problem($"{label} ingest: {Report.Count(outcome.Accepted)} of {Report.Count(options.IngestEvents)} events accepted");
            return;
        }
        result.Ingest.Add(new IngestRound(outcome.AcceptedPerSecond, relayCpu.TotalMilliseconds / outcome.Accepted, outcome.Latencies, sentPerEvent, keptPerEvent,
            $"{Report.Count(outcome.AcceptedPerSecond)}/s ({Report.Fixed(outcome.Elapsed.TotalSeconds, "0.00")} s, relay CPU {Report.Fixed(relayCpu.TotalSeconds, "0.00")} s, " +
            $"load generator {Report.Fixed(ownCpu.TotalSeconds, "0.00")} s, rest of the machine, mostly PostgreSQL, {Report.Fixed((machineCpu - relayCpu - ownCpu).TotalSeconds, "0.00")} s)"));
    }

    /// <summary>
    /// Subscribers dealt round-robin over the gateways (subscriber s on silo s % size + 1), one publisher on
    /// silo 1's gateway: paced after a paced warm-up (<c>live</c>), or unpaced with no warm-up, the cluster being
    /// warm by then (<c>fanout</c>).
    /// </summary>
    private static async Task LiveAsync(ScenarioContext context, RelayCluster cluster, Uri[] gateways, LiveEvents events, int warmUp, bool paced,
        SizeResults result, string label)
    {
        var options = context.Options;
        var report = context.Report;
        var name = $"{label} {(paced ? "live" : "fanout")}";
        var total = events.Signed.Length;
        var timed = total - warmUp;
        int? rate = paced ? options.LiveEventsPerSecond : null;
        ScenarioContext.Progress($"{name}: {options.Subscribers} subscribers, {warmUp:N0} warm-up and {timed:N0} events {(paced ? $"at {rate}/s" : "unpaced")}");
        using var watchdog = new Watchdog(options.StallTimeout);
        var subscribers = new LiveSubscriber[options.Subscribers];
        RelayClient? publisherClient = null;
        try
        {
            await LiveScenario.SubscribeAllAsync(gateways, subscribers, events.CreatedAt, () => new LiveSubscriber(total, warmUp, events.Index, events.SentAt), watchdog);
            publisherClient = await RelayClient.ConnectAsync(gateways[0], TimeSpan.FromSeconds(10), watchdog.Token);
            if (warmUp > 0)
            {
                var warming = new LivePublisher(publisherClient, events.Signed, 0, warmUp, events.Index, events.SentAt, rate, options.EventsInFlight);
                var warmUpFailed = await LiveScenario.RunPhaseAsync(subscribers, warming, warmUp, watchdog);
                foreach (var problem in warming.Problems) report.Problem($"{name} warm-up publisher: {problem}");
                if (watchdog.Stalled || warmUpFailed is not null)
                {
                    report.Problem($"{name}: warm-up did not complete ({(watchdog.Stalled ? "stalled" : warmUpFailed)}); " +
                        $"fewest warm-up events received by a subscriber: {subscribers.Min(s => s.Unique)} of {warmUp}");
                    return;
                }
            }

            var relayCpu = cluster.CpuTime;
            var publisher = new LivePublisher(publisherClient, events.Signed, warmUp, timed, events.Index, events.SentAt, rate, options.EventsInFlight);
            var started = Stopwatch.GetTimestamp();
            var failed = await LiveScenario.RunPhaseAsync(subscribers, publisher, total, watchdog);
            relayCpu = cluster.CpuTime - relayCpu;

            var deliveries = subscribers.Sum(s => (long)s.TimedUnique);
            var expected = (long)timed * subscribers.Length;
            var duplicates = subscribers.Sum(s => (long)s.Duplicates);
            var tally = paced ? result.LiveTally : result.FanoutTally;
            tally.Expected += expected;
            tally.Delivered += deliveries;
            tally.Duplicates += duplicates;
            var sameSilo = Latencies.Merge(subscribers.Where((_, s) => s % gateways.Length == 0).Select(s => s.Latencies));
            var otherSilos = Latencies.Merge(subscribers.Where((_, s) => s % gateways.Length != 0).Select(s => s.Latencies));
            var all = Latencies.Merge(subscribers.Select(s => s.Latencies));
            var window = TimeSpan.FromSeconds((double)(subscribers.Max(s => s.LastDeliveryAt) - started) / Stopwatch.Frequency);
            var perSecond = deliveries / window.TotalSeconds;
            var round = new LiveRound(all.PercentileMs(50), perSecond, sameSilo, otherSilos, publisher.OkLatencies,
                relayCpu.TotalMilliseconds * 1000 / Math.Max(deliveries, 1),
                paced ? $"{Report.Ms(all.PercentileMs(50))} ms" : $"{Report.Count(perSecond)}/s");

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
            foreach (var problem in publisher.Problems) report.Problem($"{name} publisher: {problem}");
            foreach (var problem in subscribers.SelectMany(s => s.Problems).Distinct().Take(10)) report.Problem($"{name} subscriber: {problem}");
            if (deliveries > 0) (paced ? result.Live : result.Fanout).Add(round);
        }
        finally
        {
            if (publisherClient is not null) await publisherClient.DisposeAsync();
            foreach (var subscriber in subscribers) if (subscriber is not null) await subscriber.DisposeAsync();
        }
    }

    private static void ReportFigures(ScenarioContext context, SizeResults[] results)
    {
        var options = context.Options;
        var report = context.Report;
        var ingest = results.Select(r => Median(r.Ingest, i => i.PerSecond)).ToArray();
        var live = results.Select(r => Median(r.Live, l => l.P50)).ToArray();
        var fanout = results.Select(r => Median(r.Fanout, l => l.PerSecond)).ToArray();
        var rows = new List<string[]>();
        void Row<T>(string figure, T?[] medians, Func<T, int, string> show) where T : class =>
            rows.Add([figure, .. medians.Select((median, s) => median is null ? "n/a" : show(median, s))]);
        // Against the first size (1 silo), measured in the same rounds.
        string Ratio(double value, double? baseline, int s) => s == 0 || baseline is not > 0 ? "" : $" ({Report.Fixed(value / baseline.Value, "0.00")}×)";

        Row($"ingest {Report.Count(options.IngestEvents)} kind-1 events, {Report.Count(options.IngestAuthors)} authors, {options.Connections} connections " +
            $"round-robin over the silos' gateways ({options.EventsInFlight} in flight each): accepted/s (× 1 silo)",
            ingest, (i, s) => Report.Count(i.PerSecond) + Ratio(i.PerSecond, ingest[0]?.PerSecond, s));
        Row("ingest: OK latency p50 / p99", ingest, (i, _) => i.Ok.P50P99());
        Row("ingest: events sent to other silos per ingested event (kept back by interest)", ingest,
            (i, _) => $"{Report.Fixed(i.HopsPerEvent, "0.00")} ({Report.Fixed(i.KeptPerEvent, "0.00")})");
        Row($"ingest: CPU per event, all relay processes ({Followers} subscribers on silo 1 follow {FollowedAuthors} of the authors) (× 1 silo)", ingest,
            (i, s) => $"{Report.Fixed(i.CpuMsPerEvent, "0.000")} ms" + Ratio(i.CpuMsPerEvent, ingest[0]?.CpuMsPerEvent, s));
        Row($"live, {Report.Count(options.Subscribers)} subscribers round-robin over the gateways, {Report.Count(options.LiveEvents)} events at " +
            $"{options.LiveEventsPerSecond}/s on silo 1's gateway: delivery p50 / p99 to subscribers on silo 1", live, (l, _) => l.SameSilo.P50P99());
        Row("live: delivery p50 / p99 to subscribers on the other silos", live, (l, _) => l.OtherSilos.Count == 0 ? "(none)" : l.OtherSilos.P50P99());
        Row("live: publisher's OK latency p50 / p99", live, (l, _) => l.PublisherOk.P50P99());
        Row("live: CPU per delivery, all relay processes", live, (l, _) => $"{Report.Fixed(l.CpuUsPerDelivery, "0.0")} µs");
        Row($"fan-out unpaced, {Report.Count(options.Subscribers)} subscribers × {Report.Count(options.LiveEvents)} events from silo 1's gateway: " +
            "deliveries/s (× 1 silo)", fanout, (f, s) => Report.Count(f.PerSecond) + Ratio(f.PerSecond, fanout[0]?.PerSecond, s));
        Row("fan-out: delivery p50 / p99, silo 1 · other silos", fanout,
            (f, _) => f.SameSilo.P50P99() + (f.OtherSilos.Count == 0 ? "" : " · " + f.OtherSilos.P50P99()));
        Row("fan-out: CPU per delivery, all relay processes", fanout, (f, _) => $"{Report.Fixed(f.CpuUsPerDelivery, "0.0")} µs");
        var over = options.Rounds == 1 ? "" : $" over {options.Rounds} rounds";
        rows.Add([$"live and fan-out: deliveries missing / duplicate{over}", .. results.Select(r =>
            $"{Report.Count(r.LiveTally.Missing + r.FanoutTally.Missing)} / {Report.Count(r.LiveTally.Duplicates + r.FanoutTally.Duplicates)} " +
            $"(of {Report.Count(r.LiveTally.Expected + r.FanoutTally.Expected)})")]);
        report.Table(["cluster figure", .. results.Select(r => Silos(r.Size))], rows);

        foreach (var result in results)
        {
            report.Note($"{Name}, {Silos(result.Size)}: ingest per round {Keys(result.Ingest.Select(i => i.Text))}; live p50 per round " +
                $"{Keys(result.Live.Select(l => l.Text))}; fan-out per round {Keys(result.Fanout.Select(f => f.Text))}.");
        }
        report.Note($"{Name}: every round starts a fresh cluster of each size in turn (ADO.NET clustering and a Postgres store in a schema of its own on the " +
            $"test PostgreSQL, both removed afterwards) and runs ingest ({Report.Count(options.WarmUpEvents)} warm-up events first), then live " +
            $"({Report.Count(options.LiveWarmUpEvents)} paced warm-up events first), then fan-out (fresh subscribers, no warm-up) on it; each figure is the " +
            "median round by its own key (accepted/s, overall delivery p50, deliveries/s). Subscriber s is on silo s % size + 1; the publisher is on silo 1, " +
            "but an author's grain may live on any silo, so a delivery to silo 1 may also have crossed silos (commit on the author's silo, then one hop per " +
            "silo). CPU is the sum over the relay processes; PostgreSQL's own CPU is not counted.");
    }

    private static T? Median<T>(List<T> rounds, Func<T, double> key) where T : class =>
        rounds.Count == 0 ? null : rounds.OrderBy(key).ElementAt((rounds.Count - 1) / 2);

    private static string Keys(IEnumerable<string> keys) => keys.Any() ? string.Join(" / ", keys) : "none";

    private static string Silos(int size) => size == 1 ? "1 silo" : $"{size} silos";

    private sealed record Workload(string[] Followed, long IngestSince, SignedEvent[][] Ingest, SignedEvent[][] IngestWarmUp, LiveEvents Live, LiveEvents Fanout);

    private sealed record IngestRound(double PerSecond, double CpuMsPerEvent, Latencies Ok, double HopsPerEvent, double KeptPerEvent, string Text);

    /// <summary>Live events sent to other silos, and kept from them by interest, summed over the cluster's silos so far.</summary>
    private static async Task<(double Sent, double Kept)> PeerHopsAsync(RelayCluster cluster)
    {
        double sent = 0, kept = 0;
        foreach (var silo in cluster.Silos)
        {
            sent += await silo.ReadSumAsync("nostr_fanout_batch_size_sum", "destination=\"silo\"");
            kept += await silo.ReadSumAsync("nostr_fanout_peer_skipped_total");
        }
        return (sent, kept);
    }

    private sealed record LiveRound(double P50, double PerSecond, Latencies SameSilo, Latencies OtherSilos, Latencies PublisherOk, double CpuUsPerDelivery, string Text);

    private sealed class SizeResults(int size)
    {
        public int Size { get; } = size;
        public List<IngestRound> Ingest { get; } = [];
        public List<LiveRound> Live { get; } = [];
        public List<LiveRound> Fanout { get; } = [];
        public DeliveryTally LiveTally { get; } = new();
        public DeliveryTally FanoutTally { get; } = new();
    }

    private sealed class DeliveryTally
    {
        public long Expected;
        public long Delivered;
        public long Duplicates;
        public long Missing => Expected - Delivered;
    }
}
