using System.Diagnostics;
using NostrRelay.Benchmarks.Client;
using NostrRelay.Benchmarks.Relay;
using NostrRelay.Benchmarks.Reporting;
using NostrRelay.Benchmarks.Workload;
using NostrRelay.Testing.Hostile;

namespace NostrRelay.Benchmarks.Scenarios;

/// <summary>
/// Issue 9's attack as a benchmark. A store preloaded with kind-1 notes of ~1.3 KB; an honest client (one
/// publisher at 50 events/s, one subscriber <c>{kinds:[1],since:now}</c>) runs alone, then through the attack: 4
/// attacker connections sending the hostile mix of tests/Shared/Hostile (malformed and truncated JSON, wrong types,
/// huge numbers, deep nesting, invalid UTF-8, binary, 1 and 16 MiB messages, thousands of filters and values, long
/// subscription ids, forged events the relay must verify, REQ and CLOSE floods) paced over the attack window and
/// reading their answers, and 4 slow consumers that open 25 subscriptions each (<c>{}</c> and <c>{"limit":5000}</c>)
/// and stop reading until the attack is over. Then a quiet period, and RSS again. With <c>--peer-url</c> the very
/// same run goes to an already-running relay (strfry) too, alternating which goes first each round: answers are
/// counted, not their wording, since another relay may say things its own way.
/// </summary>
internal static class HostileScenario
{
    private const int Seed = 9;
    private const int WarmUpEvents = 50;

    public static async Task RunAsync(ScenarioContext context)
    {
        var options = context.Options;
        var report = context.Report;
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var plan = HostileFrames.Plan(new HostilePlanOptions
        {
            Seed = Seed,
            Now = now,
            Connections = options.HostileConnections,
            FramesPerConnection = options.HostileFramesPerConnection,
            MebibyteFrames = options.HostileMebibyteFrames,
            SixteenMebibyteFrames = options.HostileSixteenMebibyteFrames,
            InvalidUtf8PerConnection = options.Quick ? 1 : 3,
            LimitProbesPerConnection = options.Quick ? 1 : 2,
            SlowConsumers = options.HostileSlowConsumers,
            SubscriptionsPerSlowConsumer = 25,
            NestingDepth = options.HostileNestingDepth,
        });
        ScenarioContext.Progress($"hostile: plan {plan.Describe()}");
        ScenarioContext.Progress($"hostile: signing {options.HostilePreloadEvents:N0} preload events");
        var authors = Authors.Create(50, seed: 21);
        var body = new string('n', 1_200);
        var drafts = new EventDraft[options.HostilePreloadEvents];
        for (var i = 0; i < drafts.Length; i++) drafts[i] = new EventDraft(i % authors.Count, now - 3_600 - i, 1, [["t", "preload"]], $"preloaded note {i} {body}");
        var preload = EventSigning.Deal(EventSigning.Sign(authors, drafts), options.Connections);

        var targets = new List<Target> { new("this relay", Ours: true) };
        if (options.PeerUrl is { } peerUrl) targets.Add(new Target(options.PeerName, Ours: false, peerUrl, options.PeerPid));
        var runs = targets.ToDictionary(t => t.Name, _ => new List<HostileRun>());
        for (var round = 1; round <= options.Rounds; round++)
        {
            var order = round % 2 == 1 ? targets : Enumerable.Reverse(targets).ToList();
            foreach (var target in order)
            {
                try
                {
                    runs[target.Name].Add(await RunOnceAsync(context, target, plan, preload, round));
                }
                catch (Exception ex) when (ex is not OutOfMemoryException)
                {
                    report.Problem($"hostile round {round} on {target.Name} failed: {ex.GetType().Name}: {ex.Message}");
                }
            }
        }
        Write(context, plan, targets, runs);
    }

    private sealed record Target(string Name, bool Ours, Uri? Url = null, int? Pid = null);

    /// <summary>The figures of one run on one relay.</summary>
    private sealed record HostileRun(string Target, int Round, HonestFigures Before, HonestFigures During, IReadOnlyList<string> HonestProblems,
        HostileTally Tally, SlowConsumerOutcome[] Slow, double AttackSeconds, double? CpuSeconds, double? HonestCpuPerSecond, double RssBeforeMiB, double RssPeakMiB,
        double RssAfterMiB, double HighWaterMiB, string? Alive, int PreloadAccepted)
    {
        public double Bound => 2 * Before.LiveP99 + 20;
    }

    private static async Task<HostileRun> RunOnceAsync(ScenarioContext context, Target target, HostilePlan plan, SignedEvent[][] preload, int round)
    {
        var options = context.Options;
        var name = $"hostile round {round} on {target.Name}";
        RelayProcess? relay = null;
        if (target.Ours) relay = await context.StartRelayAsync();
        var url = relay?.Uri ?? target.Url!;
        int? pid = relay?.Pid ?? target.Pid;
        await using var rss = pid is { } p ? new RssSampler(p) : null;
        try
        {
            ScenarioContext.Progress($"{name}: {url}{(pid is null ? "" : $" pid {pid}")}; preloading {options.HostilePreloadEvents:N0} events");
            var stored = await Publisher.PublishAsync(url, preload, options.EventsInFlight, options.StallTimeout);

            // Fresh honest events per run: a relay does not send a duplicate live.
            var createdAt = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
            var maxAttackEvents = (int)(options.HostileHonestPerSecond * (options.HostileAttackWindow.TotalSeconds * 3 + 60));
            var honestEvents = HonestTraffic.Sign(Seed + round * 2 + (target.Ours ? 0 : 1), createdAt, WarmUpEvents + options.HostileUnloadedEvents + maxAttackEvents, $"honest {target.Name} round {round}");
            await using var honest = new HonestTraffic(honestEvents);
            using var abort = new CancellationTokenSource(TimeSpan.FromMinutes(10));
            await honest.ConnectAsync(url, createdAt, abort.Token);
            ScenarioContext.Progress($"{name}: honest client alone ({WarmUpEvents} warm-up, then {options.HostileUnloadedEvents} events at {options.HostileHonestPerSecond}/s)");
            await honest.PublishAsync(0, WarmUpEvents, options.HostileHonestPerSecond, abort.Token);
            await honest.SettleAsync(0, WarmUpEvents, TimeSpan.FromSeconds(15));
            var aloneCpu = Cpu(pid);
            var aloneStarted = Stopwatch.GetTimestamp();
            await honest.PublishAsync(WarmUpEvents, options.HostileUnloadedEvents, options.HostileHonestPerSecond, abort.Token);
            await honest.SettleAsync(WarmUpEvents, options.HostileUnloadedEvents, TimeSpan.FromSeconds(15));
            var before = honest.Figures(WarmUpEvents, options.HostileUnloadedEvents);
            // The honest flow's own cost per second, beside the attack's: attacks on different relays last differently long.
            var baseline = Cpu(pid) is { } aloneEnd && aloneCpu is { } aloneStart ? (aloneEnd - aloneStart).TotalSeconds / Stopwatch.GetElapsedTime(aloneStarted).TotalSeconds : (double?)null;

            ScenarioContext.Progress($"{name}: attack ({plan.FrameCount:N0} frames over {options.HostileAttackWindow.TotalSeconds:0} s, {plan.SlowConsumers.Count} slow consumers)");
            var rssBefore = rss?.CurrentMiB ?? double.NaN;
            var cpuBefore = Cpu(pid);
            var attackStarted = Stopwatch.GetTimestamp();
            var slow = plan.SlowConsumers.Select(s => new SlowConsumer(url, s)).ToList();
            foreach (var consumer in slow) await consumer.OpenAsync(abort.Token);
            // Short waits for answers: a relay that leaves some frames unanswered should not stretch the attack much.
            var timeouts = new HostileTimeouts { Answers = TimeSpan.FromSeconds(2), FinalAnswers = TimeSpan.FromSeconds(15), Close = TimeSpan.FromSeconds(5), Send = TimeSpan.FromSeconds(20) };
            var attackers = plan.Connections.Select(c => new HostileConnection(url, c, timeouts)).ToList();
            var firstAttackEvent = WarmUpEvents + options.HostileUnloadedEvents;
            using var attackOver = new CancellationTokenSource();
            var publishing = honest.PublishAsync(firstAttackEvent, maxAttackEvents, options.HostileHonestPerSecond, attackOver.Token);
            using var attackCut = CancellationTokenSource.CreateLinkedTokenSource(abort.Token);
            attackCut.CancelAfter(options.HostileAttackWindow * 3 + TimeSpan.FromSeconds(60));
            try
            {
                await Task.WhenAll(attackers.Select(a => Task.Run(() => a.RunAsync(attackStarted, options.HostileAttackWindow, attackCut.Token))));
            }
            catch (Exception ex)
            {
                context.Report.Problem($"{name}: an attacker failed: {ex.GetType().Name}: {ex.Message}");
            }
            foreach (var attacker in attackers.Where(a => !a.Done)) context.Report.Note($"{name}: attack cut short: {attacker.Activity}");
            attackOver.Cancel();
            var attackEvents = await publishing;
            var attackSeconds = Stopwatch.GetElapsedTime(attackStarted).TotalSeconds;
            var cpu = Cpu(pid) is { } cpuEnd && cpuBefore is { } cpuStart ? (cpuEnd - cpuStart).TotalSeconds : (double?)null;
            await honest.SettleAsync(firstAttackEvent, attackEvents, TimeSpan.FromSeconds(15));
            var during = honest.Figures(firstAttackEvent, attackEvents);

            ScenarioContext.Progress($"{name}: slow consumers read again");
            var outcomes = await Task.WhenAll(slow.Select(s => s.ResumeAsync(quiet: TimeSpan.FromSeconds(3), limit: TimeSpan.FromSeconds(30))));
            foreach (var consumer in slow) await consumer.DisposeAsync();
            var peak = rss?.PeakMiBSince(attackStarted) ?? double.NaN;
            var tally = HostileTally.Merge(attackers.Select(a => a.Tally));
            var honestProblems = honest.Problems.ToList();
            await honest.DisposeAsync();

            ScenarioContext.Progress($"{name}: quiet for {options.HostileQuietPeriod.TotalSeconds:0} s");
            await Task.Delay(options.HostileQuietPeriod);   // a fixed idle period before memory is read again, not a wait for frames
            var rssAfter = rss?.CurrentMiB ?? double.NaN;
            var highWater = rss?.HighWaterMiB ?? double.NaN;
            var alive = relay is { HasExited: true } ? "the relay process exited" : await ServesAsync(url);

            var run = new HostileRun(target.Name, round, before, during, honestProblems, tally, outcomes, attackSeconds, cpu, baseline, rssBefore, peak, rssAfter, highWater, alive, stored.Accepted);
            ScenarioContext.Progress($"{name}: honest live p99 {Report.Ms(before.LiveP99)} → {Report.Ms(during.LiveP99)} ms; {tally.Describe()}");
            return run;
        }
        finally
        {
            if (relay is not null)
            {
                context.CollectRelayProblems(relay, name);
                await relay.DisposeAsync();
            }
        }
    }

    /// <summary>The process's CPU time; null without a pid or when the process is gone.</summary>
    private static TimeSpan? Cpu(int? pid)
    {
        if (pid is not { } id) return null;
        try { return ProcessCpu.Read(id); }
        catch (IOException) { return null; }
    }

    /// <summary>Null when a fresh connection gets EOSE for a REQ within 10 s; else what happened.</summary>
    private static async Task<string?> ServesAsync(Uri url)
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await using var client = await RelayClient.ConnectAsync(url, TimeSpan.FromSeconds(5), timeout.Token);
            await client.SendAsync(ClientFrames.Req("after", "{\"kinds\":[1],\"limit\":1}"), timeout.Token);
            while (true)
            {
                var reply = Reply.Read((await client.ReceiveAsync(timeout.Token)).Span);
                if (reply.Kind == ReplyKind.EndOfStoredEvents) return null;
                if (reply.Kind == ReplyKind.Closed) return "CLOSED: " + reply.Message;
            }
        }
        catch (Exception ex)
        {
            return $"{ex.GetType().Name}: {ex.Message}";
        }
    }

    private static void Write(ScenarioContext context, HostilePlan plan, List<Target> targets, Dictionary<string, List<HostileRun>> runs)
    {
        var report = context.Report;
        var options = context.Options;
        // The median run of each relay by its live p99 during the attack, whole (its figures belong together).
        var shown = targets.Select(t => runs[t.Name].OrderBy(r => double.IsNaN(r.During.LiveP99) ? double.MaxValue : r.During.LiveP99).ElementAtOrDefault((runs[t.Name].Count - 1) / 2)).ToList();
        if (shown.All(r => r is null)) return;

        string Cell(HostileRun? run, Func<HostileRun, string> value) => run is null ? "failed" : value(run);
        var rows = new List<string[]>();
        void Row(string figure, Func<HostileRun, string> value) => rows.Add([figure, .. shown.Select(r => Cell(r, value))]);
        string Mib(double value) => double.IsNaN(value) ? "n/a" : Report.Count(value);
        string P50P99(double p50, double p99) => $"{Report.Ms(p50)} / {Report.Ms(p99)} ms";

        Row($"honest OK latency p50 / p99, alone ({options.HostileUnloadedEvents} events at {options.HostileHonestPerSecond}/s)", r => P50P99(r.Before.OkP50, r.Before.OkP99));
        Row("honest OK latency p50 / p99, during the attack", r => P50P99(r.During.OkP50, r.During.OkP99));
        Row("honest live delivery p50 / p99, alone", r => P50P99(r.Before.LiveP50, r.Before.LiveP99));
        Row("honest live delivery p50 / p99, during the attack", r => P50P99(r.During.LiveP50, r.During.LiveP99));
        Row("live p99 during ≤ 2 × alone + 20 ms", r => r.During.LiveP99 <= r.Bound ? $"yes ({Report.Ms(r.Bound)} ms)" : $"**no** (bound {Report.Ms(r.Bound)} ms)");
        Row("honest events during the attack: sent / OK true / delivered / lost / duplicate", r => $"{r.During.Sent} / {r.During.Accepted} / {r.During.Delivered} / {r.During.Lost} / {r.During.Duplicates}");
        Row("hostile frames sent (MiB) over the attack (s)", r => $"{Report.Count(r.Tally.FramesSent)} ({Report.Fixed(r.Tally.BytesSent / (1024.0 * 1024), "0.0")}) over {Report.Fixed(r.AttackSeconds, "0.0")}");
        Row("frames owing an answer: answered / unanswered / excused by a close", r => $"{Report.Count(r.Tally.Answered)} / {Report.Count(r.Tally.Unanswered)} / {Report.Count(r.Tally.Excused)} of {Report.Count(r.Tally.Due)}");
        Row("answers nobody asked for (extra NOTICE, unasked OK/EOSE/CLOSED)", r => $"{Report.Count(r.Tally.ExtraNotices)} + {Report.Count(r.Tally.UnsolicitedCount)}");
        Row("NIP-01 deviations (see notes)", r => Report.Count(r.Tally.ViolationCount));
        Row("attacker connections closed by the relay", r => r.Tally.Closes.Count == 0 ? "0" : string.Join(", ", r.Tally.Closes.Select(c => $"{c.Value} × {c.Key}")));
        Row($"slow consumers ({plan.SlowConsumers.Count} × 25 REQs): served in full / subscriptions CLOSED / connections closed", r =>
            $"{r.Slow.Count(s => s.Eose == s.Subscriptions)} / {r.Slow.Sum(s => s.ClosedSubscriptions)} / {r.Slow.Count(s => s.CloseStatus is not null || s.EndedWithoutCloseFrame)} (read back {Report.Fixed(r.Slow.Sum(s => s.Bytes) / (1024.0 * 1024), "0")} MiB)");
        Row("waits for answers that timed out (2 s at a barrier, 15 s at the end; a late answer still counts)", r => Report.Count(r.Tally.AnswerWaitsTimedOut));
        Row("relay CPU during the attack (its length; the honest flow alone used)", r => r.CpuSeconds is { } cpu
            ? $"{Report.Fixed(cpu, "0.0")} s ({Report.Fixed(r.AttackSeconds, "0")} s; alone {Report.Fixed((r.HonestCpuPerSecond ?? double.NaN) * 100, "0")} % of a core)"
            : "n/a (no pid)");
        Row($"relay RSS before the attack / peak during / {options.HostileQuietPeriod.TotalSeconds:0} s after (MiB)", r => $"{Mib(r.RssBeforeMiB)} / {Mib(r.RssPeakMiB)} / {Mib(r.RssAfterMiB)}");
        Row("relay VmHWM at the end (MiB)", r => Mib(r.HighWaterMiB));
        Row("alive and serving a REQ after", r => r.Alive is null ? "yes" : "**no**: " + r.Alive);
        report.Table(["hostile (issue 9)", .. targets.Select(t => t.Name)], rows);

        report.Note($"hostile: plan {plan.Describe()}; nesting {options.HostileNestingDepth:N0} deep. Attackers pace their bursts over {options.HostileAttackWindow.TotalSeconds:0} s and wait for answers " +
            $"before CLOSE floods and invalid-UTF-8 frames; the honest client publishes until the attackers are done. Preload: {options.HostilePreloadEvents:N0} notes of ~1.3 KB.");
        foreach (var target in targets)
        {
            var all = runs[target.Name];
            if (all.Count == 0) continue;
            report.Note($"hostile on {target.Name}: per round (in run order) live p99 alone → during, CPU: " +
                string.Join(" / ", all.Select(r => $"{Report.Ms(r.Before.LiveP99)} → {Report.Ms(r.During.LiveP99)} ms, {(r.CpuSeconds is { } c ? Report.Fixed(c, "0.0") + " s" : "n/a")}")) +
                $"; preload OK true {string.Join(" / ", all.Select(r => r.PreloadAccepted))}.");
            var median = shown[targets.IndexOf(target)];
            if (median is null) continue;
            report.Note($"hostile on {target.Name} (median round {median.Round}): {median.Tally.Describe()}");
            foreach (var slow in median.Slow) report.Note($"hostile on {target.Name}: {slow}");
            foreach (var violation in median.Tally.Violations().Take(12)) report.Note($"hostile on {target.Name}: deviation: {violation}");
            foreach (var example in median.Tally.UnansweredExamples().Take(6)) report.Note($"hostile on {target.Name}: unanswered, e.g. {example}");
        }

        // Our relay is held to the issue's aims; the peer is measured, not judged.
        foreach (var run in runs[targets[0].Name])
        {
            var name = $"hostile round {run.Round}";
            if (run.During.Lost > 0 || run.During.Duplicates > 0 || run.During.Unanswered > 0 || run.During.Refused > 0)
                report.Problem($"{name}: honest client during the attack: {run.During.Lost} lost, {run.During.Duplicates} duplicate, {run.During.Unanswered} without OK, {run.During.Refused} refused");
            foreach (var problem in run.HonestProblems) report.Problem($"{name}: honest client: {problem}");
            if (!(run.During.LiveP99 <= run.Bound)) report.Problem($"{name}: honest live p99 during the attack {Report.Ms(run.During.LiveP99)} ms > 2 × {Report.Ms(run.Before.LiveP99)} + 20 ms");
            if (run.Tally.Unanswered > 0) report.Problem($"{name}: {Report.Count(run.Tally.Unanswered)} hostile frames unanswered (connection open or closed without status and reason)");
            if (run.Tally.ViolationCount > 0) report.Problem($"{name}: {Report.Count(run.Tally.ViolationCount)} NIP-01 deviations in answers to hostile frames (see notes)");
            if (run.Alive is not null) report.Problem($"{name}: not serving after the attack: {run.Alive}");
            // Paced (every REQ answered in full once it read again) or told (CLOSED, or a close with a status).
            if (run.Slow.Any(s => !s.Observed && s.Eose < s.Subscriptions)) report.Problem($"{name}: a slow consumer was neither served in full nor told why (CLOSED, or a close with a status)");
        }
    }
}
