using System.Text.Json;

namespace NostrRelay.Silo.Sync;

/// <summary>
/// Sends EVENTs to a relay over one connection, many awaiting their OK at once (a window, as a client pipelines), and
/// counts the answers: stored, duplicate, or refused with the relay's reason. A <c>rate-limited:</c> refusal is sent
/// again after a pause, a few times, rather than counted as lost.
/// </summary>
internal sealed class EventPublisher : IAsyncDisposable
{
    private const int MaxRetries = 8;

    private readonly RelaySocket _socket;
    private readonly TimeSpan _timeout;
    private readonly SemaphoreSlim _window;
    private readonly Dictionary<string, (string Json, int Retries)> _pending = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stopping = new();
    private readonly CancellationTokenSource _failed = new();
    private readonly Task _acknowledging;
    private TaskCompletionSource _drained = NewSignal();
    private Exception? _failure;

    public EventPublisher(RelaySocket socket, int window, TimeSpan timeout)
    {
        _socket = socket;
        _timeout = timeout;
        _window = new SemaphoreSlim(window, window);
        _acknowledging = AcknowledgeLoopAsync();
    }

    public long Stored { get; private set; }
    public long Duplicates { get; private set; }
    public long Rejected { get; private set; }

    /// <summary>The first refusals' reasons (a few, to print), by reason.</summary>
    public Dictionary<string, int> Reasons { get; } = new(StringComparer.Ordinal);

    public async Task PublishAsync(string id, string eventJson, CancellationToken cancellationToken)
    {
        using (var waiting = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _failed.Token))
        {
            try
            {
                await _window.WaitAsync(waiting.Token);
            }
            catch (OperationCanceledException) when (_failed.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
            {
                throw _failure!;
            }
        }
        lock (_pending)
        {
            if (_failure is not null) { _window.Release(); throw _failure; }
            if (_pending.Count == 0 && _drained.Task.IsCompleted) _drained = NewSignal();
            if (!_pending.TryAdd(id, (eventJson, 0))) { _window.Release(); return; }   // already on its way
        }
        await _socket.SendAsync($"[\"EVENT\",{eventJson}]", cancellationToken);
    }

    /// <summary>Waits until every EVENT sent has its answer.</summary>
    public async Task DrainAsync(CancellationToken cancellationToken)
    {
        Task drained;
        lock (_pending)
        {
            if (_failure is not null) throw _failure;
            if (_pending.Count == 0) return;
            drained = _drained.Task;
        }
        await drained.WaitAsync(cancellationToken);
        lock (_pending)
            if (_failure is not null) throw _failure;
    }

    private async Task AcknowledgeLoopAsync()
    {
        try
        {
            while (!_stopping.IsCancellationRequested)
            {
                JsonElement frame;
                try
                {
                    frame = await _socket.ReceiveAsync(_timeout, _stopping.Token);
                }
                catch (SyncException) when (IsIdle() && !_socket.IsClosed)
                {
                    continue;   // nothing was awaited: silence is fine
                }
                if (!RelayFrame.Is(frame, "OK") || RelayFrame.String(frame, 1) is not { } id || frame.GetArrayLength() < 3) continue;
                var accepted = frame[2].ValueKind == JsonValueKind.True;
                var message = RelayFrame.String(frame, 3) ?? "";
                string? resend = null;
                lock (_pending)
                {
                    if (!_pending.TryGetValue(id, out var entry)) continue;
                    if (!accepted && message.StartsWith("rate-limited:", StringComparison.Ordinal) && entry.Retries < MaxRetries)
                    {
                        _pending[id] = (entry.Json, entry.Retries + 1);
                        resend = entry.Json;
                    }
                    else
                    {
                        _pending.Remove(id);
                        if (accepted && message.StartsWith("duplicate:", StringComparison.Ordinal)) Duplicates++;
                        else if (accepted) Stored++;
                        else
                        {
                            Rejected++;
                            if (Reasons.Count < 20 || Reasons.ContainsKey(message)) Reasons[message] = Reasons.GetValueOrDefault(message) + 1;
                        }
                        _window.Release();
                        if (_pending.Count == 0) _drained.TrySetResult();
                    }
                }
                if (resend is not null) _ = ResendAsync(resend);
            }
        }
        catch (Exception ex)
        {
            Fail(ex is SyncException ? ex : new SyncException($"publishing to {_socket.Url} stopped: {ex.Message}"));
        }
    }

    private async Task ResendAsync(string eventJson)
    {
        try
        {
            await Task.Delay(TimeSpan.FromSeconds(1), _stopping.Token);
            await _socket.SendAsync($"[\"EVENT\",{eventJson}]", _stopping.Token);
        }
        catch (Exception ex) when (ex is SyncException or OperationCanceledException)
        {
            Fail(ex is SyncException ? ex : new SyncException($"publishing to {_socket.Url} stopped"));
        }
    }

    /// <summary>True when every EVENT sent has its answer.</summary>
    public bool IsIdle()
    {
        lock (_pending) return _pending.Count == 0;
    }

    private void Fail(Exception failure)
    {
        lock (_pending)
        {
            _failure ??= failure;
            _drained.TrySetResult();
        }
        _failed.Cancel();
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    public async ValueTask DisposeAsync()
    {
        _stopping.Cancel();
        await _acknowledging;
        _stopping.Dispose();
        _failed.Dispose();
    }
}
