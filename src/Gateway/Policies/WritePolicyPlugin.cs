using System.Buffers;
using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using NostrRelay.Hosting;
using NostrRelay.Protocol;

namespace NostrRelay.Policies;

/// <summary>
/// A write-policy plugin speaking strfry's protocol (<c>Relay:Policies:Plugin</c>), so operators keep the plugins they
/// run with strfry: one long-lived process gets one JSON request a line on stdin (<c>type</c>, <c>event</c>,
/// <c>receivedAt</c>, <c>sourceType</c>, <c>sourceInfo</c>) and answers each with a line (<c>id</c>, <c>action</c>
/// accept | reject | shadowReject, <c>msg</c>). Many requests are in flight at once, matched to answers by id. A
/// request unanswered within <c>PluginTimeout</c> (waiting to be written included) is refused with <c>error:</c>; a
/// plugin that exits fails what it held and is started again for the next event, at most once a second; one that
/// stops reading its input, or answers nothing for three events in a row, is stopped and started again.
/// </summary>
internal sealed partial class WritePolicyPlugin(IOptions<RelayOptions> options, TimeProvider time, ILogger<WritePolicyPlugin> logger)
    : IEventPolicy, IAsyncDisposable
{
    private static readonly TimeSpan RestartPause = TimeSpan.FromSeconds(1);

    /// <summary>Timeouts in a row, with no answer between them, after which a plugin is taken for hung and restarted.</summary>
    private const int MaxSilentAnswers = 3;
    private static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false);

    private readonly string _command = options.Value.Policies.Plugin ?? "";
    private readonly TimeSpan _timeout = options.Value.Policies.PluginTimeout;
    private readonly Lock _lock = new();
    private PluginProcess? _process;
    private long _lastStart = long.MinValue;
    private bool _disposed;

    public async ValueTask<PolicyResult> CheckAsync(NostrEvent evt, ClientContext client, CancellationToken cancellationToken)
    {
        PluginProcess? plugin;
        lock (_lock) plugin = Running();
        if (plugin is null) return NotRunning;
        var answer = plugin.Expect(evt.Id);
        // One deadline for waiting to write, writing, and the answer: a plugin that stops reading its stdin fills the
        // pipe, and every event after would wait on the write forever.
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(_timeout);
        var written = false;
        try
        {
            await plugin.WriteAsync(Request(evt, client, time.GetUtcNow().ToUnixTimeSeconds()), deadline.Token).ConfigureAwait(false);
            written = true;
            return await answer.Task.WaitAsync(deadline.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            LogTimedOut(logger, evt.Id, _timeout);
            // Stuck on its input, or silent for several events in a row: it is stopped and started again.
            if (!written || plugin.TimedOut() >= MaxSilentAnswers) plugin.Kill();
            return PolicyResult.Error("the relay's write policy did not answer in time; try again");
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or InvalidOperationException)
        {
            LogWriteFailed(logger, ex);
            return NotRunning;
        }
        finally
        {
            plugin.Forget(evt.Id, answer);
        }
    }

    private static readonly PolicyResult NotRunning = PolicyResult.Error("the relay's write policy is not running; try again shortly");

    /// <summary>The running process, started if there is none and the last start was over a second ago. Under <c>_lock</c>.</summary>
    private PluginProcess? Running()
    {
        if (_disposed) return null;
        if (_process is { Exited: false } running) return running;
        var now = time.GetTimestamp();
        if (_lastStart != long.MinValue && time.GetElapsedTime(_lastStart, now) < RestartPause) return null;
        _lastStart = now;
        // Like strfry: a command with no space is a path; anything else runs through the shell.
        var start = _command.Contains(' ')
            ? new ProcessStartInfo("/bin/sh", ["-c", _command])
            : new ProcessStartInfo(_command);
        start.RedirectStandardInput = true;
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        start.UseShellExecute = false;
        start.StandardInputEncoding = Utf8;
        start.StandardOutputEncoding = Utf8;
        try
        {
            var process = Process.Start(start) ?? throw new InvalidOperationException("the process did not start");
            var plugin = new PluginProcess(process);
            _process = plugin;
            LogStarted(logger, _command, process.Id);
            // Not in the scope of the connection whose EVENT started the plugin: its loops outlive that connection.
            using (ExecutionContext.SuppressFlow())
            {
                _ = Task.Run(() => ReadAnswersAsync(plugin));
                _ = Task.Run(() => ForwardErrorsAsync(process));
            }
            return plugin;
        }
        catch (Exception ex) when (ex is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            LogStartFailed(logger, ex, _command);
            return null;
        }
    }

    private static byte[] Request(NostrEvent evt, ClientContext client, long receivedAt)
    {
        var buffer = new ArrayBufferWriter<byte>(evt.Json.Length + 160);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("type"u8, "new"u8);
            json.WritePropertyName("event"u8);
            json.WriteRawValue(evt.Json, skipInputValidation: true);
            json.WriteNumber("receivedAt"u8, receivedAt);
            var address = client.RemoteIp;
            json.WriteString("sourceType"u8, client.IsImport ? "Import"u8
                : address?.AddressFamily == AddressFamily.InterNetworkV6 && !address.IsIPv4MappedToIPv6 ? "IP6"u8 : "IP4"u8);
            json.WriteString("sourceInfo"u8, address?.IsIPv4MappedToIPv6 == true ? address.MapToIPv4().ToString() : address?.ToString() ?? "");
            json.WriteEndObject();
        }
        buffer.Write("\n"u8);
        return buffer.WrittenSpan.ToArray();
    }

    private async Task ReadAnswersAsync(PluginProcess plugin)
    {
        try
        {
            while (await plugin.Process.StandardOutput.ReadLineAsync().ConfigureAwait(false) is { } line)
            {
                if (TryReadAnswer(line, out var id, out var result)) plugin.Answer(id, result);
                else LogBadAnswer(logger, line.Length > 200 ? line[..200] : line);
            }
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or InvalidOperationException)
        {
        }
        // Only this process's waiters fail: a process started after it has its own.
        var orphans = plugin.Exit(PolicyResult.Error("the relay's write policy stopped; try again"));
        lock (_lock)
        {
            if (ReferenceEquals(_process, plugin)) _process = null;
        }
        if (!_disposed) LogExited(logger, _command, orphans);
        plugin.Process.Dispose();
    }

    /// <summary>One answer line; a reject's <c>msg</c> is sent as the plugin wrote it (strfry plugins write the NIP-01 prefix).</summary>
    private static bool TryReadAnswer(string line, out string id, out PolicyResult result)
    {
        id = "";
        result = default;
        try
        {
            using var document = JsonDocument.Parse(line);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object
                || !root.TryGetProperty("id", out var idValue) || idValue.ValueKind != JsonValueKind.String
                || !root.TryGetProperty("action", out var action) || action.ValueKind != JsonValueKind.String)
                return false;
            id = idValue.GetString()!;
            var message = root.TryGetProperty("msg", out var msg) && msg.ValueKind == JsonValueKind.String ? msg.GetString() : null;
            switch (action.GetString())
            {
                case "accept":
                    result = PolicyResult.Accept;
                    return true;
                case "shadowReject":
                    result = PolicyResult.ShadowReject;
                    return true;
                case "reject":
                    result = string.IsNullOrEmpty(message) ? PolicyResult.Blocked("rejected by the relay's write policy") : PolicyResult.Rejected(message);
                    return true;
                default:
                    return false;
            }
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private async Task ForwardErrorsAsync(Process process)
    {
        try
        {
            while (await process.StandardError.ReadLineAsync().ConfigureAwait(false) is { } line) LogPluginSaid(logger, line);
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or InvalidOperationException)
        {
        }
    }

    public ValueTask DisposeAsync()
    {
        PluginProcess? plugin;
        lock (_lock)
        {
            _disposed = true;
            plugin = _process;
            _process = null;
        }
        plugin?.Stop();
        return ValueTask.CompletedTask;
    }

    /// <summary>One run of the plugin: its process, the events it was asked about (by id, oldest first), its stdin lock.</summary>
    private sealed class PluginProcess(Process process)
    {
        private readonly Dictionary<string, List<TaskCompletionSource<PolicyResult>>> _waiting = new(StringComparer.Ordinal);
        private readonly SemaphoreSlim _writing = new(1, 1);
        private bool _exited;
        private int _timeoutsInARow;

        public Process Process => process;

        public bool Exited
        {
            get { lock (_waiting) return _exited; }
        }

        public TaskCompletionSource<PolicyResult> Expect(string id)
        {
            var answer = new TaskCompletionSource<PolicyResult>(TaskCreationOptions.RunContinuationsAsynchronously);
            lock (_waiting)
            {
                if (_exited) answer.TrySetResult(NotRunning);
                else
                {
                    if (!_waiting.TryGetValue(id, out var waiters)) _waiting[id] = waiters = new List<TaskCompletionSource<PolicyResult>>(1);
                    waiters.Add(answer);
                }
            }
            return answer;
        }

        public async Task WriteAsync(byte[] request, CancellationToken cancellationToken)
        {
            await _writing.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                var stdin = process.StandardInput.BaseStream;
                await stdin.WriteAsync(request, cancellationToken).ConfigureAwait(false);
                await stdin.FlushAsync(cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                _writing.Release();
            }
        }

        /// <summary>Counts a timeout; returns how many came in a row.</summary>
        public int TimedOut() => Interlocked.Increment(ref _timeoutsInARow);

        /// <summary>Completes the oldest waiter for the id; a late answer to one that timed out goes to the next ask about the same event.</summary>
        public void Answer(string id, PolicyResult result)
        {
            Volatile.Write(ref _timeoutsInARow, 0);
            TaskCompletionSource<PolicyResult>? waiter = null;
            lock (_waiting)
            {
                if (_waiting.TryGetValue(id, out var waiters) && waiters.Count > 0)
                {
                    waiter = waiters[0];
                    waiters.RemoveAt(0);
                    if (waiters.Count == 0) _waiting.Remove(id);
                }
            }
            waiter?.TrySetResult(result);
        }

        public void Forget(string id, TaskCompletionSource<PolicyResult> answer)
        {
            lock (_waiting)
            {
                if (_waiting.TryGetValue(id, out var waiters) && waiters.Remove(answer) && waiters.Count == 0) _waiting.Remove(id);
            }
        }

        /// <summary>Marks the run over and fails what it still held; returns how many.</summary>
        public int Exit(PolicyResult failed)
        {
            List<TaskCompletionSource<PolicyResult>> orphans = [];
            lock (_waiting)
            {
                _exited = true;
                foreach (var waiters in _waiting.Values) orphans.AddRange(waiters);
                _waiting.Clear();
            }
            foreach (var orphan in orphans) orphan.TrySetResult(failed);
            return orphans.Count;
        }

        public void Kill()
        {
            try { process.Kill(entireProcessTree: true); }
            catch (Exception ex) when (ex is InvalidOperationException or System.ComponentModel.Win32Exception) { }
        }

        public void Stop()
        {
            try
            {
                process.StandardInput.Close();   // a well-behaved plugin exits at the end of its input
                if (!process.WaitForExit(TimeSpan.FromSeconds(2))) process.Kill(entireProcessTree: true);
            }
            catch (Exception ex) when (ex is InvalidOperationException or IOException) { }
        }
    }

    [LoggerMessage(EventId = 710, Level = LogLevel.Information, Message = "Write policy plugin {Command} started (pid {Pid})")]
    private static partial void LogStarted(ILogger logger, string command, int pid);

    [LoggerMessage(EventId = 711, Level = LogLevel.Error, Message = "Write policy plugin {Command} could not be started; events are refused until it can")]
    private static partial void LogStartFailed(ILogger logger, Exception exception, string command);

    [LoggerMessage(EventId = 712, Level = LogLevel.Warning, Message = "Write policy plugin {Command} exited with {Pending} events waiting; it is started again for the next event")]
    private static partial void LogExited(ILogger logger, string command, int pending);

    [LoggerMessage(EventId = 713, Level = LogLevel.Warning, Message = "Write policy plugin gave no answer for event {EventId} within {Timeout}; refused with error:")]
    private static partial void LogTimedOut(ILogger logger, string eventId, TimeSpan timeout);

    [LoggerMessage(EventId = 714, Level = LogLevel.Warning, Message = "Write policy plugin wrote a line that is not an answer: {Line}")]
    private static partial void LogBadAnswer(ILogger logger, string line);

    [LoggerMessage(EventId = 715, Level = LogLevel.Warning, Message = "Write policy plugin could not be sent an event; it is started again for the next one")]
    private static partial void LogWriteFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 716, Level = LogLevel.Information, Message = "Write policy plugin: {Line}")]
    private static partial void LogPluginSaid(ILogger logger, string line);
}
