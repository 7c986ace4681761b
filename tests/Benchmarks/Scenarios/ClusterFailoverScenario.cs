using System.Diagnostics;
using NostrRelay.Benchmarks.Relay;
using NostrRelay.Benchmarks.Reporting;
using NostrRelay.Benchmarks.Workload;

namespace NostrRelay.Benchmarks.Scenarios;

/// <summary>
/// Failover: 3 Combined silos and a gateway-only process (tuned membership: a 1 s probe timeout, 2 missed
/// probes, 5 s response timeout). Four lanes publish at a steady rate, each for its own authors: one on each
/// surviving gateway (silo 2, silo 3, the gateway-only process) and one on silo 1, which reconnects to silo 2
/// when it goes. Subscribers on the surviving gateways hold <c>{kinds:[1],since}</c>. Silo 1 is SIGKILLed
/// mid-run; measured from that moment: how long each lane went without an OK true, when each lane and each
/// author got OK true again (an author whose grain lived on the killed silo waits for membership to declare it
/// dead and the grain to activate elsewhere), and whether every acknowledged event reached every subscriber once.
/// </summary>
internal static class ClusterFailoverScenario
{
    private const string Name = "cluster-failover";
    private const int Lanes = 4;
    private const int KilledLane = 0;
    private static readonly string[] LaneNames = ["killed silo's lane", "silo 2", "silo 3", "gateway"];
    /// <summary>Longer than the few seconds a failover takes: quiet stretches are measured, not cut short.</summary>
    private static readonly TimeSpan StallTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan DrainTimeout = TimeSpan.FromSeconds(15);
    private static readonly TimeSpan DeliveryTimeout = TimeSpan.FromSeconds(20);
    /// <summary>An author paused longer than this was held up by the kill (its events come every few hundred ms otherwise).</summary>
    private static readonly TimeSpan PausedAuthor = TimeSpan.FromSeconds(1);

    public static async Task RunAsync(ScenarioContext context)
    {
        var options = context.Options;
        await RelayCluster.CheckDatabaseAsync();
        var perLane = (int)(options.FailoverEventsPerSecond * (options.FailoverBeforeKill + options.FailoverAfterKill).TotalSeconds);
        var keys = Authors.Create(Lanes * options.FailoverAuthorsPerLane, seed: 8);
        var rounds = new List<Round>();
        var tally = new Tally();
        for (var round = 1; round <= options.Rounds; round++)
            if (await RunRoundAsync(context, keys, perLane, round, tally) is { } result) rounds.Add(result);
        Round.ReportMedian(context.Report, Name, "kill → every author publishing again", rounds);
        var over = options.Rounds == 1 ? "" : $" over {options.Rounds} rounds";
        context.Report.Row($"failover: subscribers on the surviving gateways ({3 * options.FailoverSubscribersPerGateway}): acknowledged events missing / duplicate " +
            $"(of {Report.Count(tally.Expected)} deliveries{over})", $"{Report.Count(tally.Missing)} / {Report.Count(tally.Duplicates)}");
    }

    /// <summary>
    /// Lane l's event n is due <c>n / rate</c> seconds after the start and carries that second as its created_at,
    /// as a client stamps an event when it writes it, less <paramref name="backdate"/> seconds. (Signed a moment
    /// before the run: ~0.2 s for 8,000 events.) The subscribers' since is the first created_at.
    /// </summary>
    private static LiveEvents Sign(Authors keys, int authorsPerLane, int perLane, int perSecond, long startsAt, int backdate)
    {
        var drafts = new EventDraft[Lanes * perLane];
        var first = startsAt - backdate;
        for (var lane = 0; lane < Lanes; lane++)
            for (var n = 0; n < perLane; n++)
                drafts[lane * perLane + n] = new EventDraft(lane * authorsPerLane + n % authorsPerLane, first + n / perSecond, 1, [], $"failover lane {lane} event {n}");
        return LiveEvents.Sign(keys, drafts, first);
    }

    private static async Task<Round?> RunRoundAsync(ScenarioContext context, Authors keys, int perLane, int round, Tally tally)
    {
        var options = context.Options;
        var report = context.Report;
        var label = $"{Name} round {round}";
        ScenarioContext.Progress($"{label}: starting 3 silos and a gateway");
        RelayCluster cluster;
        try
        {
            cluster = await context.StartClusterAsync(silos: 3, gateways: 1);
        }
        catch (Exception ex) when (ex is InvalidOperationException or TimeoutException)
        {
            report.Problem($"{label}: the cluster did not start: {ex.Message}");
            return null;
        }
        await using (cluster)
        {
            // Starts on a whole second, at least two from now: signing and subscribing fit before it, and (unless
            // backdated) no event's created_at is earlier than the subscribers' REQs.
            var startsAt = DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 3;
            var events = Sign(keys, options.FailoverAuthorsPerLane, perLane, options.FailoverEventsPerSecond, startsAt, options.FailoverBackdateSeconds);
            var doomed = cluster.Silos[0];
            RelayProcess[] survivors = [cluster.Silos[1], cluster.Silos[2], cluster.Gateways[0]];
            string[] survivorNames = ["silo 2", "silo 3", "gateway"];
            var subscribers = new LiveSubscriber[3 * options.FailoverSubscribersPerGateway];
            var total = events.Signed.Length;
            using var watchdog = new Watchdog(StallTimeout);
            try
            {
                await LiveScenario.SubscribeAllAsync([.. survivors.Select(s => s.Uri)], subscribers, events.CreatedAt,
                    () => new LiveSubscriber(total, 0, events.Index, events.SentAt), watchdog);
                var receiving = subscribers.Select(s => s.ReceiveAsync(total, watchdog)).ToArray();
                var lanes = new FailoverLane[Lanes];
                // Its relays are silos 1, 2, 3 in that order, so a reconnect's relay index + 1 is the silo's number.
                lanes[KilledLane] = new FailoverLane(LaneNames[KilledLane], [doomed.Uri, cluster.Silos[1].Uri, cluster.Silos[2].Uri], events.Signed,
                    KilledLane * perLane, perLane, events.Index, events.SentAt, options.FailoverEventsPerSecond, options.EventsInFlight);
                for (var lane = 1; lane < Lanes; lane++)
                    lanes[lane] = new FailoverLane(LaneNames[lane], [survivors[lane - 1].Uri], events.Signed, lane * perLane, perLane, events.Index, events.SentAt,
                        options.FailoverEventsPerSecond, options.EventsInFlight);

                ScenarioContext.Progress($"{label}: pids {string.Join(", ", cluster.Processes.Select(p => p.Pid))}; publishing {Lanes} × {options.FailoverEventsPerSecond}/s, " +
                    $"SIGKILL of silo 1 (pid {doomed.Pid}) after {options.FailoverBeforeKill.TotalSeconds:0} s");
                using var stop = new CancellationTokenSource();
                var untilStart = DateTimeOffset.FromUnixTimeSeconds(startsAt) - DateTimeOffset.UtcNow;
                if (untilStart > TimeSpan.Zero) await Task.Delay(untilStart);
                var start = Stopwatch.GetTimestamp();
                var publishing = lanes.Select(l => l.RunAsync(start, watchdog, stop.Token)).ToArray();
                await Task.Delay(options.FailoverBeforeKill);
                foreach (var survivor in survivors) survivor.ExpectPeerLoss();
                var killedAt = Stopwatch.GetTimestamp();
                doomed.Kill();
                ScenarioContext.Progress($"{label}: silo 1 killed; publishing on for {options.FailoverAfterKill.TotalSeconds:0} s");

                // Every event sent (the lanes' schedule), then their last OKs (a call caught by the kill fails within the response timeout).
                var sendDeadline = start + Ticks(options.FailoverBeforeKill + options.FailoverAfterKill + DrainTimeout);
                while (lanes.Any(l => l.Sent < l.Count) && Stopwatch.GetTimestamp() < sendDeadline) await Task.Delay(100);
                var drainDeadline = Stopwatch.GetTimestamp() + Ticks(DrainTimeout);
                while (lanes.Any(l => l.InFlight > 0) && Stopwatch.GetTimestamp() < drainDeadline) await Task.Delay(100);
                stop.Cancel();
                await Task.WhenAll(publishing);

                var acknowledged = new List<int>();
                foreach (var lane in lanes)
                    for (var n = 0; n < lane.Count; n++)
                        if (lane.AcceptedAt(n) != 0) acknowledged.Add(lane.First + n);
                var deliveryDeadline = Stopwatch.GetTimestamp() + Ticks(DeliveryTimeout);
                while (!subscribers.All(s => acknowledged.All(s.Saw)) && Stopwatch.GetTimestamp() < deliveryDeadline && !watchdog.Token.IsCancellationRequested)
                    await Task.Delay(100);
                watchdog.Abort();
                try { await Task.WhenAll(receiving); }
                catch (Exception) when (watchdog.Token.IsCancellationRequested) { }   // ended by the Abort above

                return Measure(context, label, events, lanes, subscribers, survivorNames, acknowledged, killedAt, perLane, watchdog.Stalled, tally);
            }
            finally
            {
                foreach (var subscriber in subscribers) if (subscriber is not null) await subscriber.DisposeAsync();
                context.CollectRelayProblems(doomed, $"{label}, silo 1 before its kill");
                for (var s = 0; s < survivors.Length; s++)
                {
                    context.CollectRelayProblems(survivors[s], $"{label}, {survivorNames[s]}");
                    if (survivors[s].PeerLossLogs.Any())
                        report.Note($"{label}: {survivorNames[s]} logged after the kill (by design: peers of a SIGKILLed silo; not counted as problems): " +
                            string.Join(", ", survivors[s].PeerLossLogs) + ".");
                }
            }
        }
    }

    private static Round Measure(ScenarioContext context, string label, LiveEvents events, FailoverLane[] lanes, LiveSubscriber[] subscribers, string[] survivorNames,
        List<int> acknowledged, long killedAt, int perLane, bool stalled, Tally tally)
    {
        var options = context.Options;
        var report = context.Report;
        var authorsPerLane = options.FailoverAuthorsPerLane;

        // Per lane: its longest pause after the kill (the stretch without an OK true that ends last among the
        // longest), against its longest pause before the kill (the jitter of a healthy cluster).
        var pauses = new string[Lanes];
        long pauseBefore = 0;
        for (var l = 0; l < Lanes; l++)
        {
            var times = AcceptedTimes(lanes[l], Enumerable.Range(0, lanes[l].Count));
            pauseBefore = Math.Max(pauseBefore, LongestGap(times, killedAt, after: false).Gap);
            var (gap, end) = LongestGap(times, killedAt, after: true);
            pauses[l] = end == 0 ? $"{lanes[l].Name}: no OK true after the kill" : $"{lanes[l].Name} {Report.Ms(Ms(gap))} ms (until {Report.Ms(Ms(end - killedAt))} ms)";
            if (end == 0) report.Problem($"{label}: lane {lanes[l].Name} got no OK true after the kill");
        }
        var killedLane = lanes[KilledLane];
        string reconnect;
        if (killedLane.Reconnects is [var (reconnectedAt, relay), ..])
        {
            var first = FirstAfter(AcceptedTimes(killedLane, Enumerable.Range(0, killedLane.Count)), reconnectedAt);
            reconnect = $"reconnected to silo {relay + 1} at {Report.Ms(Ms(reconnectedAt - killedAt))} ms, first OK true there at " +
                (first is { } at ? $"{Report.Ms(Ms(at - killedAt))} ms" : "never");
        }
        else
        {
            reconnect = "never reconnected";
            report.Problem($"{label}: the lane on the killed silo never reconnected");
        }

        // Per author: its longest pause after the kill. An author paused longer than PausedAuthor had its grain
        // on the killed silo, or waited behind such an author on its connection (bounded in-flight EVENTs), or
        // was on the killed silo's connection; the last such pause to end is when every author publishes again.
        long everyAuthor = 0;
        var paused = new List<string>();
        var pausedPerLane = new int[Lanes];
        var lastBackPerLane = new long[Lanes];
        for (var l = 0; l < Lanes; l++)
        {
            for (var a = 0; a < authorsPerLane; a++)
            {
                var times = AcceptedTimes(lanes[l], Enumerable.Range(0, perLane).Where(n => n % authorsPerLane == a));
                var (gap, end) = LongestGap(times, killedAt, after: true);
                if (end == 0)
                {
                    report.Problem($"{label}: author {a} of lane {lanes[l].Name} got no OK true after the kill");
                    continue;
                }
                everyAuthor = Math.Max(everyAuthor, end - killedAt);
                if (gap <= Ticks(PausedAuthor)) continue;
                paused.Add($"{lanes[l].Name}#{a} {Report.Ms(Ms(gap))} ms until {Report.Ms(Ms(end - killedAt))} ms");
                pausedPerLane[l]++;
                lastBackPerLane[l] = Math.Max(lastBackPerLane[l], end - killedAt);
            }
        }

        var expected = (long)acknowledged.Count * subscribers.Length;
        long missing = 0;
        var missingBySurvivor = new long[3];
        var missingByLane = new long[Lanes];
        long firstMissedSent = long.MaxValue, lastMissedSent = long.MinValue;
        for (var s = 0; s < subscribers.Length; s++)
        {
            foreach (var i in acknowledged)
            {
                if (subscribers[s].Saw(i)) continue;
                missing++;
                missingBySurvivor[s % 3]++;
                missingByLane[i / perLane]++;
                var sent = events.SentAt[i];
                firstMissedSent = Math.Min(firstMissedSent, sent);
                lastMissedSent = Math.Max(lastMissedSent, sent);
            }
        }
        var duplicates = subscribers.Sum(s => (long)s.Duplicates);
        tally.Expected += expected;
        tally.Missing += missing;
        tally.Duplicates += duplicates;
        var deliveries = Latencies.Merge(subscribers.Select(s => s.Latencies));
        var accepted = lanes.Sum(l => l.Accepted);
        var refused = lanes.Sum(l => l.Refused);
        var unanswered = lanes.Sum(l => l.Unanswered);

        if (stalled) report.Problem($"{label}: stall: no OK and no delivery for {StallTimeout.TotalSeconds:0} s");
        if (missing > 0)
        {
            report.Problem($"{label}: {Report.Count(missing)} deliveries of acknowledged events missing on the surviving gateways' subscribers " +
                $"(by gateway: {string.Join(", ", survivorNames.Select((name, g) => $"{name} {missingBySurvivor[g]}"))}; by publishing lane: " +
                $"{string.Join(", ", lanes.Select((lane, l) => $"{lane.Name} {missingByLane[l]}"))}; sent from {Report.Ms(Ms(firstMissedSent - killedAt))} to " +
                $"{Report.Ms(Ms(lastMissedSent - killedAt))} ms after the kill)");
        }
        if (duplicates > 0) report.Problem($"{label}: {Report.Count(duplicates)} duplicate deliveries");
        foreach (var lane in lanes)
            foreach (var problem in lane.Problems) report.Problem($"{label} lane {lane.Name}: {problem}");
        foreach (var problem in subscribers.SelectMany(s => s.Problems).Distinct().Take(10)) report.Problem($"{label} subscriber: {problem}");

        var result = new Round(everyAuthor, $"{Report.Ms(Ms(everyAuthor))} ms");
        var shape = $"SIGKILL of 1 of 3 silos (+ a gateway-only process), {Lanes} lanes × {options.FailoverEventsPerSecond} EVENTs/s, {authorsPerLane} authors each" +
            (options.FailoverBackdateSeconds > 0 ? $", created_at {options.FailoverBackdateSeconds} s before the send" : "");
        result.Row($"failover, {shape}: longest pause in OK true after the kill, per lane (until ms after the kill)", string.Join(" · ", pauses));
        result.Row("failover: the killed silo's lane", reconnect);
        var pausedByLane = Enumerable.Range(0, Lanes).Select(l => pausedPerLane[l] == 0 ? $"{lanes[l].Name} 0"
            : $"{lanes[l].Name} {pausedPerLane[l]} (back by {Report.Ms(Ms(lastBackPerLane[l]))} ms)");
        result.Row($"failover: kill → every author publishing again (end of the last author's longest pause); authors paused > {PausedAuthor.TotalSeconds:0} s of " +
            $"{authorsPerLane} per lane", $"{Report.Ms(Ms(everyAuthor))} ms; {string.Join(" · ", pausedByLane)}");
        result.Row("failover: EVENTs answered OK true / OK false / unanswered (on the lost connection)", $"{Report.Count(accepted)} / {Report.Count(refused)} / {Report.Count(unanswered)}");
        result.Row("failover: delivery p50 / p99 over the whole run (surviving gateways)", deliveries.P50P99());
        result.Note($"{label}: longest pause of any lane before the kill {Report.Ms(Ms(pauseBefore))} ms; paused authors (longest pause after the kill): " +
            $"{(paused.Count == 0 ? "none" : string.Join(", ", paused))}; refusals: {string.Join("; ", lanes.SelectMany(l => l.Refusals).Distinct().Take(3).DefaultIfEmpty("none"))}.");
        return result;
    }

    /// <summary>The OK true times of the given events of a lane, in order.</summary>
    private static long[] AcceptedTimes(FailoverLane lane, IEnumerable<int> events)
    {
        var times = new List<long>();
        foreach (var n in events)
            if (lane.AcceptedAt(n) is var at and not 0) times.Add(at);
        times.Sort();
        return [.. times];
    }

    /// <summary>
    /// The longest stretch between consecutive times among those ending after <paramref name="moment"/>
    /// (<paramref name="after"/>) or ending at or before it; End is 0 when there is none.
    /// </summary>
    private static (long Gap, long End) LongestGap(long[] times, long moment, bool after)
    {
        long gap = 0, end = 0;
        for (var i = 1; i < times.Length; i++)
            if (times[i] > moment == after && times[i] - times[i - 1] >= gap) (gap, end) = (times[i] - times[i - 1], times[i]);
        if (after && end == 0 && times.Length == 1 && times[0] > moment) end = times[0];
        return (gap, end);
    }

    private static long? FirstAfter(long[] times, long moment)
    {
        foreach (var time in times)
            if (time > moment) return time;
        return null;
    }

    private static long Ticks(TimeSpan span) => (long)(span.TotalSeconds * Stopwatch.Frequency);

    private static double Ms(long ticks) => ticks * 1000.0 / Stopwatch.Frequency;

    private sealed class Tally
    {
        public long Expected;
        public long Missing;
        public long Duplicates;
    }
}
