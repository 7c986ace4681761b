using System.Collections.Concurrent;
using System.Diagnostics;

namespace NostrRelay.Benchmarks.Relay;

/// <summary>
/// The real relay (NostrRelay.Silo.dll) in its own process, on free ports, so its CPU time can be read apart
/// from the load generator's: alone with a fresh Sqlite store in a temporary directory, or as one process of a
/// <see cref="RelayCluster"/> with the arguments it is given. Warnings and errors it logs are kept as
/// <see cref="Problems"/>: a benchmark run that made the relay complain must say so. Those logged after
/// <see cref="ExpectPeerLoss"/> are kept apart (<see cref="PeerLossLogs"/>): a silo's peers log its SIGKILL by design.
/// </summary>
internal sealed class RelayProcess : IAsyncDisposable
{
    private const string ListeningLine = "Nostr relay listening on ";
    private const string VerifierLine = "Verifying signatures with ";
    private const string StoreLine = "Event store: ";
    private const int MaxShownLength = 300;
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(5) };

    private readonly Process _process;
    private readonly DirectoryInfo? _data;
    private readonly TaskCompletionSource _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly ConcurrentDictionary<string, ProblemKind> _problems = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, ProblemKind> _peerLossLogs = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<string> _recentOutput = new();
    private string? _problemHeader;   // the console logger writes "warn: Category[id]" and the message on the next line
    private volatile bool _stopping;
    private volatile bool _peerLoss;
    private long _problemOrder;

    private RelayProcess(Process process, DirectoryInfo? data, int port)
    {
        _process = process;
        _data = data;
        Uri = new Uri($"ws://127.0.0.1:{port}/");
        HttpUri = new Uri($"http://127.0.0.1:{port}/");
    }

    public Uri Uri { get; }

    /// <summary>The same port over HTTP: <c>/readyz</c>, <c>/healthz</c>.</summary>
    public Uri HttpUri { get; }

    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>The verifier the relay announced at start ("libsecp256k1" or the managed one).</summary>
    public string Verifier { get; private set; } = "(not announced)";

    /// <summary>What the relay printed about its store, e.g. "Sqlite at /tmp/.../relay.db".</summary>
    public string Store { get; private set; } = "(not announced)";

    /// <summary>
    /// What the relay logged at Warning or above, one line per logger category and event id with how often it
    /// came and its first message (a stalled scheduler can log the same warning hundreds of times).
    /// </summary>
    public IEnumerable<string> Problems
    {
        get
        {
            foreach (var (key, kind) in _problems.OrderBy(p => p.Value.First))
                yield return kind.Count == 1 ? $"{key} {kind.Message}" : $"{kind.Count} × {key}, first: {kind.Message}";
        }
    }

    /// <summary>
    /// What the relay logged at Warning or above after <see cref="ExpectPeerLoss"/>: how often, by level, category and
    /// event id; for a call that waited out the response timeout also the first message, which names the call (the
    /// grain and method an author waited on through a failover).
    /// </summary>
    public IEnumerable<string> PeerLossLogs
    {
        get
        {
            foreach (var (key, kind) in _peerLossLogs.OrderBy(p => p.Value.First))
                yield return key.Contains(ResponseTimeoutKey, StringComparison.Ordinal)
                    ? $"{kind.Count} × {key.TrimEnd(':')} (first: {kind.Message})"
                    : $"{kind.Count} × {key.TrimEnd(':')}";
        }
    }

    /// <summary>Orleans' log of a call that got no response within the response timeout.</summary>
    private const string ResponseTimeoutKey = "Orleans.Runtime.CallbackData[100157]";

    public TimeSpan CpuTime => ProcessCpu.Read(_process.Id);

    /// <summary>The relay alone: its own Sqlite store in a temporary directory, deleted when it stops.</summary>
    public static async Task<RelayProcess> StartAsync(string siloDll, TimeSpan startTimeout)
    {
        var data = Directory.CreateTempSubdirectory("nostr-bench-");
        var ports = FreePorts.Take(3);
        try
        {
            return await StartAsync(siloDll, ports[0], [
                $"--Relay:Store:Path={Path.Combine(data.FullName, "relay.db")}",
                $"--Orleans:Endpoints:SiloPort={ports[1]}",
                $"--Orleans:Endpoints:GatewayPort={ports[2]}",
            ], data, startTimeout);
        }
        catch
        {
            try { data.Delete(recursive: true); }
            catch (IOException) { }
            throw;
        }
    }

    /// <summary>
    /// A relay on <paramref name="port"/> with the given configuration arguments (a cluster member's, say);
    /// returns once it announced its listener. <see cref="WaitUntilReadyAsync"/> says when it serves.
    /// </summary>
    public static Task<RelayProcess> StartAsync(string siloDll, int port, IReadOnlyList<string> arguments, TimeSpan startTimeout) =>
        StartAsync(siloDll, port, arguments, data: null, startTimeout);

    private static async Task<RelayProcess> StartAsync(string siloDll, int port, IReadOnlyList<string> arguments, DirectoryInfo? data, TimeSpan startTimeout)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = Path.GetDirectoryName(siloDll)!,   // content root: the silo's appsettings.json
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(siloDll);
        start.ArgumentList.Add("--Relay:Host=127.0.0.1");
        start.ArgumentList.Add($"--Relay:Port={port}");
        // The URL its clients use: without it the relay warns at start that NIP-42 AUTH trusts the Host header.
        start.ArgumentList.Add($"--Relay:PublicUrls:0=ws://127.0.0.1:{port}/");
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        start.ArgumentList.Add("--Logging:LogLevel:Default=Warning");
        start.ArgumentList.Add("--Logging:LogLevel:NostrRelay.Gateway=Information");   // for "Verifying signatures with ..."

        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        var relay = new RelayProcess(process, data, port);
        process.OutputDataReceived += (_, e) => relay.OnOutput(e.Data);
        process.ErrorDataReceived += (_, e) => relay.OnOutput(e.Data is null ? null : "stderr: " + e.Data);
        process.Exited += (_, _) => relay.OnExited();
        if (!process.Start()) throw new InvalidOperationException("dotnet did not start");
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        try
        {
            await relay._listening.Task.WaitAsync(startTimeout);
        }
        catch (Exception ex)
        {
            var output = relay.RecentOutput;
            await relay.DisposeAsync();
            throw new InvalidOperationException($"the relay did not start ({ex.Message}). Its last output:{Environment.NewLine}{output}", ex);
        }
        return relay;
    }

    private string RecentOutput => string.Join(Environment.NewLine, _recentOutput);

    /// <summary>Polls <c>GET /readyz</c> until it answers 200: a cluster member has joined and its gateway shards are attached.</summary>
    /// <summary>The relay's <c>/metrics</c> page (Prometheus text).</summary>
    public Task<string> ReadMetricsAsync() => Http.GetStringAsync(new Uri(HttpUri, "metrics"));

    /// <summary>
    /// Bytes the relay's runtime has allocated since it started (<c>dotnet.gc.heap.total_allocated</c>); -1 from a
    /// relay without the figure (an older build measured with --relay-dll). The Prometheus exporter answers from a
    /// cache for 300 ms, so a read closer than that to the previous one would see the same figure: this waits first.
    /// </summary>
    public async Task<long> ReadAllocatedBytesAsync()
    {
        await Task.Delay(TimeSpan.FromMilliseconds(400));
        const string Metric = "dotnet_gc_heap_total_allocated_bytes_total";
        string metrics;
        try { metrics = await ReadMetricsAsync(); }
        catch (HttpRequestException) { return -1; }
        foreach (var line in metrics.Split('\n'))
            if (line.StartsWith(Metric, StringComparison.Ordinal) && (line.Length == Metric.Length || line[Metric.Length] is ' ' or '{'))
                return (long)double.Parse(line[(line.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture);
        return -1;
    }

    /// <summary>
    /// The sum of a metric's series whose line contains <paramref name="labels"/> (e.g. <c>destination="silo"</c>); 0 when
    /// the relay has none (an older build, or nothing counted yet). Waits out the exporter's cache as above.
    /// </summary>
    public async Task<double> ReadSumAsync(string metric, string labels = "")
    {
        await Task.Delay(TimeSpan.FromMilliseconds(400));
        string metrics;
        try { metrics = await ReadMetricsAsync(); }
        catch (HttpRequestException) { return 0; }
        double sum = 0;
        foreach (var line in metrics.Split('\n'))
        {
            if (!line.StartsWith(metric, StringComparison.Ordinal) || line.Length == metric.Length || line[metric.Length] is not (' ' or '{')) continue;
            if (labels.Length > 0 && !line.Contains(labels, StringComparison.Ordinal)) continue;
            sum += double.Parse(line[(line.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture);
        }
        return sum;
    }

    public async Task WaitUntilReadyAsync(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!await IsReadyAsync())
        {
            if (_process.HasExited) throw new InvalidOperationException($"relay process {Pid} exited before it was ready. Its last output:{Environment.NewLine}{RecentOutput}");
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"{HttpUri}readyz did not answer 200 within {timeout.TotalSeconds:0} s. Its last output:{Environment.NewLine}{RecentOutput}");
            await Task.Delay(100);
        }
    }

    private async Task<bool> IsReadyAsync()
    {
        try
        {
            using var response = await Http.GetAsync(new Uri(HttpUri, "readyz"));
            return response.IsSuccessStatusCode;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            return false;
        }
    }

    /// <summary>
    /// From now on, what the relay logs at Warning or above is kept in <see cref="PeerLossLogs"/>, not
    /// <see cref="Problems"/>: a member of a cluster whose silo was just SIGKILLed reports lost connections,
    /// failed calls and membership changes by design.
    /// </summary>
    public void ExpectPeerLoss() => _peerLoss = true;

    /// <summary>SIGKILL, as a crash or the OOM killer would: no drain, no goodbye to the cluster.</summary>
    public void Kill()
    {
        _stopping = true;
        _process.Kill(entireProcessTree: true);
        _process.WaitForExit();
    }

    private void OnOutput(string? line)
    {
        if (line is null) return;
        _recentOutput.Enqueue(line);
        while (_recentOutput.Count > 40) _recentOutput.TryDequeue(out _);

        if (_problemHeader is { } header)
        {
            _problemHeader = null;
            AddProblem(header, line.Trim());
            return;
        }
        if (line.StartsWith("warn: ", StringComparison.Ordinal) || line.StartsWith("fail: ", StringComparison.Ordinal)
            || line.StartsWith("crit: ", StringComparison.Ordinal))
        {
            _problemHeader = line;
            return;
        }
        if (line.StartsWith("stderr: ", StringComparison.Ordinal))
        {
            AddProblem("stderr:", line["stderr: ".Length..]);
            return;
        }
        var trimmed = line.Trim();
        if (trimmed.StartsWith(VerifierLine, StringComparison.Ordinal)) Verifier = trimmed[VerifierLine.Length..];
        else if (trimmed.StartsWith(StoreLine, StringComparison.Ordinal)) Store = trimmed[StoreLine.Length..];
        else if (trimmed.StartsWith(ListeningLine, StringComparison.Ordinal)) _listening.TrySetResult();
    }

    private void AddProblem(string key, string message)
    {
        if (IsImpossibleStall(message)) return;
        var shown = key.Contains(ResponseTimeoutKey, StringComparison.Ordinal) ? 2 * MaxShownLength : MaxShownLength;   // its target and method come late
        if (message.Length > shown) message = message[..shown] + "…";
        var logged = _peerLoss ? _peerLossLogs : _problems;
        var kind = logged.GetOrAdd(key, _ => new ProblemKind(message, Interlocked.Increment(ref _problemOrder)));
        Interlocked.Increment(ref kind.Count);
    }

    /// <summary>
    /// Orleans 10.4's silo watchdog can compare against a timestamp it has not set yet and then reports a
    /// "participant check" stall as long as the machine's uptime, right after start. A stall longer than the
    /// process has lived is that false alarm; a real one (shorter than the process's age) is still reported.
    /// </summary>
    private bool IsImpossibleStall(string problem)
    {
        const string marker = "Participant check thread has not completed for ";
        var at = problem.IndexOf(marker, StringComparison.Ordinal);
        if (at < 0) return false;
        var text = problem[(at + marker.Length)..];
        var comma = text.IndexOf(',');
        if (comma > 0) text = text[..comma];
        return TimeSpan.TryParse(text, System.Globalization.CultureInfo.InvariantCulture, out var stall)
            && stall > DateTime.Now - _process.StartTime + TimeSpan.FromSeconds(1);
    }

    private void OnExited()
    {
        if (_stopping) return;
        var code = _process.ExitCode;
        AddProblem("exit:", $"the relay exited by itself with code {code}");
        _listening.TrySetException(new InvalidOperationException($"the relay exited with code {code}"));
    }

    public async ValueTask DisposeAsync()
    {
        _stopping = true;
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
            }
        }
        catch (Exception ex) when (ex is InvalidOperationException or TimeoutException or System.ComponentModel.Win32Exception)
        {
            Console.Error.WriteLine($"could not stop relay process {_process.Id}: {ex.Message}");
        }
        _process.Dispose();
        try { _data?.Delete(recursive: true); }
        catch (IOException) { }
    }

    private sealed class ProblemKind(string message, long first)
    {
        public readonly string Message = message;
        public readonly long First = first;
        public int Count;
    }
}
