using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using NostrRelay.EndToEnd.Tests.Infrastructure;
using NostrRelay.Testing;
using NostrRelay.Testing.Hostile;
using Xunit.Abstractions;

namespace NostrRelay.EndToEnd.Tests;

/// <summary>
/// Issue 9: the relay as an attacker finds it. NIP-01: "<c>["OK", &lt;event_id&gt;, &lt;true|false&gt;, &lt;message&gt;]</c>, used to
/// indicate acceptance or denial of an EVENT message"; "<c>["CLOSED", &lt;subscription_id&gt;, &lt;message&gt;]</c>, used to indicate
/// that a subscription was ended on the server side"; "<c>["NOTICE", &lt;message&gt;]</c>, used to send human-readable error
/// messages"; the message of OK and CLOSED starts with "a single-word prefix followed by a <c>:</c>" (duplicate, pow,
/// blocked, rate-limited, invalid, restricted, mute, error). RFC 6455 §8.1: a text message that is not UTF-8 fails
/// the connection, with close status 1007.
/// <para>
/// Over 10,000 generated hostile frames (tests/Shared/Hostile, fixed seed) go to the real relay process over six
/// attacker connections, paced over 15 s, while two more open 25 subscriptions each and stop reading, and an
/// honest client publishes 50 kind-1 events a second on one connection and follows them live on another.
/// </para>
/// </summary>
[Collection(HostileTrafficCollection.Name)]
public sealed class HostileTrafficTests(ITestOutputHelper output)
{
    private const int Seed = 9;
    private const double HonestPerSecond = 50;
    private const int WarmUpEvents = 50;
    private const int UnloadedEvents = 200;
    private const int MaxAttackEvents = 4_000;   // the publisher stops when the attack ends, long before this
    private const int PreloadEvents = 2_000;     // ~1.3 KB each: 25 subscriptions of {} and {limit:5000} owe ~40 MB
    private const double LatencyMarginMs = 100;
    private static readonly TimeSpan AttackWindow = TimeSpan.FromSeconds(15);
    private static readonly TimeSpan AttackOverrun = TimeSpan.FromSeconds(25);   // the attack is cut this long after its window

    [Fact]
    public async Task ten_thousand_hostile_frames_are_each_answered_and_the_honest_client_loses_nothing_and_keeps_its_latency()
    {
        using var abort = new CancellationTokenSource(TimeSpan.FromMinutes(4));
        var failures = new List<string>();
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var generating = Stopwatch.StartNew();
        var plan = HostileFrames.Plan(new HostilePlanOptions { Seed = Seed, Now = now });
        var honestEvents = HonestTraffic.Sign(seed: Seed + 1, createdAt: now, WarmUpEvents + UnloadedEvents + MaxAttackEvents, "honest");
        var preload = Preload(now);
        output.WriteLine($"hostile plan {plan.Describe()}; generated with {PreloadEvents:N0} preload and {honestEvents.Length:N0} honest events in {generating.Elapsed.TotalSeconds:0.0} s");

        await using var relay = await LoggedRelay.StartAsync();
        output.WriteLine($"relay pid {relay.Pid} on {relay.Url}");
        var stored = await PreloadAsync(relay.Url, preload);
        Assert.True(stored == PreloadEvents, $"preload: {stored} of {PreloadEvents} events got OK true");

        await using var honest = new HonestTraffic(honestEvents);
        await honest.ConnectAsync(relay.Url, since: now, abort.Token);
        await honest.PublishAsync(0, WarmUpEvents, HonestPerSecond, abort.Token);
        Assert.True(await honest.SettleAsync(0, WarmUpEvents, TimeSpan.FromSeconds(10)), "warm-up: " + honest.Figures(0, WarmUpEvents));
        await honest.PublishAsync(WarmUpEvents, UnloadedEvents, HonestPerSecond, abort.Token);
        Assert.True(await honest.SettleAsync(WarmUpEvents, UnloadedEvents, TimeSpan.FromSeconds(10)), "unloaded: " + honest.Figures(WarmUpEvents, UnloadedEvents));
        var unloaded = honest.Figures(WarmUpEvents, UnloadedEvents);
        output.WriteLine($"honest, unloaded: {unloaded}");

        // The attack: slow consumers open their subscriptions and stop reading; attackers send, paced over the window.
        var cpuBefore = ProcessCpuSeconds(relay.Pid);
        var slowConsumers = plan.SlowConsumers.Select(s => new SlowConsumer(relay.Url, s)).ToList();
        foreach (var slow in slowConsumers) await slow.OpenAsync(abort.Token);
        // A relay answers within a second or two even under this load; 5 s without an owed answer is a stall.
        var attackers = plan.Connections.Select(c => new HostileConnection(relay.Url, c, new HostileTimeouts { Answers = TimeSpan.FromSeconds(5), FinalAnswers = TimeSpan.FromSeconds(10) })).ToList();
        var firstAttackEvent = WarmUpEvents + UnloadedEvents;
        using var attackOver = new CancellationTokenSource();
        using var attackCut = CancellationTokenSource.CreateLinkedTokenSource(abort.Token);
        attackCut.CancelAfter(AttackWindow + AttackOverrun);
        var pausedBefore = GC.GetTotalPauseDuration();
        using var poolDelay = new ThreadPoolDelay();
        var started = Stopwatch.GetTimestamp();
        var publishing = honest.PublishAsync(firstAttackEvent, MaxAttackEvents, HonestPerSecond, attackOver.Token);
        try
        {
            await Task.WhenAll(attackers.Select(a => Task.Run(() => a.RunAsync(started, AttackWindow, attackCut.Token))));
        }
        catch (Exception ex)
        {
            failures.Add($"an attacker failed: {ex.GetType().Name}: {ex.Message}");
        }
        if (attackers.Any(a => !a.Done))
            failures.Add($"the attack did not finish within {(AttackWindow + AttackOverrun).TotalSeconds:0} s (sends paced over {AttackWindow.TotalSeconds:0} s, then answers): " +
                string.Join(" | ", attackers.Where(a => !a.Done).Select(a => a.Activity)));
        attackOver.Cancel();
        var attackEvents = await publishing;
        var attackSeconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        if (!await honest.SettleAsync(firstAttackEvent, attackEvents, TimeSpan.FromSeconds(15))) failures.Add("the honest client's events of the attack phase did not all settle within 15 s after it");
        var during = honest.Figures(firstAttackEvent, attackEvents);
        var testPauses = GC.GetTotalPauseDuration() - pausedBefore;
        var testPoolDelay = poolDelay.MaxMs;
        var cpuDuring = ProcessCpuSeconds(relay.Pid) - cpuBefore;
        output.WriteLine($"honest, during the attack ({attackSeconds:0.0} s): {during}; this test process paused {testPauses.TotalMilliseconds:0} ms for GC " +
            $"and its thread pool started queued work at most {testPoolDelay:0} ms late");

        var tally = HostileTally.Merge(attackers.Select(a => a.Tally));
        output.WriteLine($"attackers: {tally.Describe()}");
        var slowOutcomes = await Task.WhenAll(slowConsumers.Select(s => s.ResumeAsync(quiet: TimeSpan.FromSeconds(3), limit: TimeSpan.FromSeconds(20))));
        foreach (var slow in slowConsumers) await slow.DisposeAsync();
        foreach (var outcome in slowOutcomes) output.WriteLine(outcome.ToString());
        output.WriteLine($"relay CPU during the attack {cpuDuring:0.0} s; peak RSS (VmHWM) {PeakRssMiB(relay.Pid)} MiB");

        // The relay is alive and serves an ordinary client.
        if (relay.HasExited) failures.Add("the relay process exited during the attack");
        else
        {
            var health = await relay.HealthAsync();
            if (health != 200) failures.Add($"GET /healthz answered {health} after the attack");
            var answer = await relay.ServesAsync(honestEvents[^1]);
            if (answer is not null) failures.Add("after the attack a fresh client was not served: " + answer);
        }

        // Every hostile frame answered per NIP-01, or its connection closed with a status and a reason.
        if (tally.FramesSent + plan.SlowConsumers.Sum(s => s.Requests.Count) < 10_000) failures.Add($"only {tally.FramesSent:N0} hostile frames were sent (the test must send 10,000)");
        if (tally.Unanswered > 0)
            failures.Add($"{tally.Unanswered:N0} of {tally.Due:N0} hostile frames that must be answered were not (nor was their connection closed with a status and reason); " +
                "still owed, e.g.: " + string.Join(" | ", tally.UnansweredExamples()));
        foreach (var violation in tally.Violations()) failures.Add("NIP-01: " + violation);

        // The honest client lost nothing, and its live p99 during the attack stays within 2× its own unloaded p99 + 100 ms.
        // The margin is for this shared 2-core machine, where the relay and the test process (sending 40 MB, reading
        // 100 MB) take turns on the cores and collect garbage: full runs saw p99 of 53 and 67 ms with the test process
        // pausing 3 ms, isolated runs 8 to 13 ms. A neighbour held up behind a hostile frame's work waits far longer.
        foreach (var problem in honest.Problems) failures.Add("honest client: " + problem);
        if (during.Lost > 0 || during.Duplicates > 0 || during.Unanswered > 0 || during.Refused > 0)
            failures.Add($"honest client during the attack: {during.Lost} lost, {during.Duplicates} duplicate, {during.Unanswered} without OK, {during.Refused} refused (all must be 0)");
        var bound = 2 * unloaded.LiveP99 + LatencyMarginMs;
        if (!(during.LiveP99 <= bound))
            failures.Add($"honest live p99 during the attack {during.LiveP99:0.0} ms > 2 × unloaded p99 {unloaded.LiveP99:0.0} ms + {LatencyMarginMs} ms = {bound:0.0} ms " +
                $"(p50 {unloaded.LiveP50:0.0} → {during.LiveP50:0.0} ms; OK p99 {unloaded.OkP99:0.0} → {during.OkP99:0.0} ms; " +
                $"this test process paused {testPauses.TotalMilliseconds:0} ms for garbage collection during the attack, " +
                $"and its thread pool started queued work at most {testPoolDelay:0} ms late)");

        // Slow consumers: once they read again, either the relay paced them (every REQ answered in full, up to its EOSE:
        // stored-event reads wait while a connection is behind) or it told them (CLOSED, or a close with a status).
        foreach (var outcome in slowOutcomes)
        {
            if (!outcome.Observed && outcome.Eose < outcome.Subscriptions)
                failures.Add("slow consumer: neither served in full nor told why (CLOSED, or a close with a status): " + outcome);
            else if (outcome.EndedWithoutCloseFrame) failures.Add("slow consumer: the relay dropped the connection without a close frame: " + outcome);
        }

        // Nothing unhandled in the relay's log (its warnings are shown, not judged).
        foreach (var line in relay.Problems()) failures.Add("relay log: " + line);
        var warnings = relay.Warnings();
        if (warnings.Count > 0) output.WriteLine($"relay warnings ({warnings.Count}):{Environment.NewLine}  " + string.Join(Environment.NewLine + "  ", warnings.Take(10)));

        output.WriteLine(failures.Count == 0 ? "all checks passed" : $"{failures.Count} checks failed:{Environment.NewLine}- " + string.Join(Environment.NewLine + "- ", failures));
        Assert.True(failures.Count == 0, $"seed {Seed}: {failures.Count} checks failed:{Environment.NewLine}- " + string.Join(Environment.NewLine + "- ", failures));
    }

    [Fact]
    public async Task every_kind_of_hostile_frame_sent_on_its_own_gets_its_answer()
    {
        // The same generator, one connection, no slow consumers, each frame's answer awaited before the next: a
        // missing or wrong answer is named with its frame (in the attack above NOTICEs can only be counted).
        var plan = HostileFrames.Plan(new HostilePlanOptions
        {
            Seed = Seed + 3, Now = DateTimeOffset.UtcNow.ToUnixTimeSeconds(), Connections = 1, FramesPerConnection = 1_000,
            MebibyteFrames = 2, SixteenMebibyteFrames = 0, InvalidUtf8PerConnection = 3, SlowConsumers = 0,
        });
        output.WriteLine($"hostile plan {plan.Describe()}");
        await using var relay = await LoggedRelay.StartAsync();
        var attacker = new HostileConnection(relay.Url, plan.Connections[0], new HostileTimeouts { Answers = TimeSpan.FromSeconds(3) }, oneAtATime: true);
        using var cut = new CancellationTokenSource(TimeSpan.FromSeconds(60));

        await attacker.RunAsync(Stopwatch.GetTimestamp(), TimeSpan.Zero, cut.Token);

        var failures = new List<string>();
        if (!attacker.Done) failures.Add("not done within 60 s: " + attacker.Activity);
        var tally = attacker.Tally;
        output.WriteLine(tally.Describe());
        if (tally.Unanswered > 0) failures.Add($"{tally.Unanswered} frames unanswered, e.g.: " + string.Join(" | ", tally.UnansweredExamples()));
        foreach (var violation in tally.Violations()) failures.Add("NIP-01: " + violation);
        if (tally.ExtraNotices > 0) output.WriteLine($"{tally.ExtraNotices} NOTICEs came for frames that needed no answer");
        foreach (var line in relay.Problems()) failures.Add("relay log: " + line);
        Assert.True(failures.Count == 0, $"seed {Seed + 3}: {failures.Count} checks failed:{Environment.NewLine}- " + string.Join(Environment.NewLine + "- ", failures));
    }

    /// <summary>kind-1 notes of ~1.3 KB by 20 authors, an hour and more old, for the heavy REQs to read back.</summary>
    private static string[] Preload(long now)
    {
        var random = new Random(Seed + 2);
        var keys = new byte[20][];
        for (var a = 0; a < keys.Length; a++)
        {
            while (true)
            {
                var key = new byte[32];
                random.NextBytes(key);
                try
                {
                    NativeSchnorrSigner.Shared.PublicKeyHex(key);
                    keys[a] = key;
                    break;
                }
                catch (ArgumentException)
                {
                }
            }
        }
        var body = new string('n', 1_200);
        var messages = new string[PreloadEvents];
        Parallel.For(0, PreloadEvents, i =>
        {
            var evt = NativeSchnorrSigner.Shared.Sign(keys[i % keys.Length], now - 3_600 - i, 1, [["t", "preload"]], $"preloaded note {i} {body}");
            messages[i] = "[\"EVENT\"," + Encoding.UTF8.GetString(evt.Json) + "]";
        });
        return messages;
    }

    /// <summary>Publishes over one connection, all at once (the relay bounds what it has in flight); how many got OK true.</summary>
    private static async Task<int> PreloadAsync(Uri relay, string[] messages)
    {
        await using var client = await TestClient.ConnectAsync(relay);
        foreach (var message in messages) await client.SendAsync(message);
        var accepted = 0;
        for (var i = 0; i < messages.Length; i++)
            if ((await client.ExpectAsync(f => Frames.Is(f, "OK"), TimeSpan.FromSeconds(30)))[2].GetBoolean()) accepted++;
        return accepted;
    }

    private static double ProcessCpuSeconds(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) / 100.0;   // USER_HZ
    }

    private static string PeakRssMiB(int pid)
    {
        var line = File.ReadLines($"/proc/{pid}/status").FirstOrDefault(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
        return line is null ? "?" : (long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024).ToString(CultureInfo.InvariantCulture);
    }
}

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class HostileTrafficCollection
{
    public const string Name = "hostile traffic";
}

/// <summary>
/// The built relay (src/Silo, the tests' configuration) in its own process on free ports, with a fresh store and
/// every line it prints kept, so the test can look for unhandled errors in its log.
/// </summary>
file sealed class LoggedRelay : IAsyncDisposable
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(5) };
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _lines;
    private readonly string _data;

    private LoggedRelay(Process process, ConcurrentQueue<string> lines, string data, int port)
    {
        _process = process;
        _lines = lines;
        _data = data;
        Url = new Uri($"ws://127.0.0.1:{port}/");
        HttpUrl = new Uri($"http://127.0.0.1:{port}/");
    }

    public Uri Url { get; }
    public Uri HttpUrl { get; }
    public int Pid => _process.Id;
    public bool HasExited => _process.HasExited;

    public static async Task<LoggedRelay> StartAsync()
    {
        var data = Path.Combine(Path.GetTempPath(), "relay-hostile-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(data);
        var port = FreePort.Next();
        var dll = SiloProcess.SiloDll;
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = Path.GetDirectoryName(dll)!,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in (string[])[dll, "--Relay:Host=127.0.0.1", $"--Relay:Port={port}", $"--Relay:Store:Path={Path.Combine(data, "relay.db")}",
                     $"--Orleans:Endpoints:SiloPort={FreePort.Next()}", $"--Orleans:Endpoints:GatewayPort={FreePort.Next()}", $"--Orleans:ClusterId=hostile-{port}"])
            start.ArgumentList.Add(arg);
        start.Environment["Logging__LogLevel__Default"] = "Warning";
        var lines = new ConcurrentQueue<string>();
        var listening = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var process = Process.Start(start)!;
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lines.Enqueue(e.Data);
            if (e.Data.Contains("Nostr relay listening on", StringComparison.Ordinal)) listening.TrySetResult();
        };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lines.Enqueue("stderr: " + e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var relay = new LoggedRelay(process, lines, data, port);
        if (await Task.WhenAny(listening.Task, process.WaitForExitAsync(), Task.Delay(TimeSpan.FromSeconds(60))) != listening.Task)
        {
            await relay.DisposeAsync();
            throw new InvalidOperationException("the relay did not start:" + Environment.NewLine + string.Join(Environment.NewLine, lines));
        }
        return relay;
    }

    /// <summary>
    /// Log entries at Error or Critical ("fail:", "crit:" with the message line after them) and any unhandled
    /// exception the runtime printed.
    /// </summary>
    public List<string> Problems()
    {
        var lines = _lines.ToArray();
        var problems = new List<string>();
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i];
            if (line.StartsWith("fail:", StringComparison.Ordinal) || line.StartsWith("crit:", StringComparison.Ordinal))
                problems.Add(line + (i + 1 < lines.Length ? " " + lines[i + 1].Trim() : ""));
            else if (line.Contains("Unhandled exception", StringComparison.OrdinalIgnoreCase))
                problems.Add(line);
        }
        return problems.Take(20).ToList();
    }

    /// <summary>"warn:" entries with their message line.</summary>
    public List<string> Warnings()
    {
        var lines = _lines.ToArray();
        return lines.Select((line, i) => (line, i)).Where(l => l.line.StartsWith("warn:", StringComparison.Ordinal))
            .Select(l => l.line + (l.i + 1 < lines.Length ? " " + lines[l.i + 1].Trim() : "")).ToList();
    }

    public async Task<int> HealthAsync()
    {
        try { return (int)(await Http.GetAsync(new Uri(HttpUrl, "healthz"))).StatusCode; }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException) { return 0; }
    }

    /// <summary>Null when a fresh client gets EOSE for a REQ and OK true for an event; else what went wrong.</summary>
    public async Task<string?> ServesAsync(HonestEvent unpublished)
    {
        try
        {
            await using var client = await TestClient.ConnectAsync(Url);
            await client.QueryAsync("after", new { kinds = new[] { 1 }, limit = 1 });
            var (accepted, message) = await client.PublishRawAsync(unpublished.Id, Encoding.UTF8.GetString(unpublished.Message));
            return accepted ? null : "OK false: " + message;
        }
        catch (Exception ex)
        {
            return $"{ex.GetType().Name}: {ex.Message}";
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
            }
        }
        catch (Exception ex) when (ex is InvalidOperationException or TimeoutException)
        {
        }
        _process.Dispose();
        try { Directory.Delete(_data, recursive: true); }
        catch (IOException) { }
    }
}
