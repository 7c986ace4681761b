using System.Net.WebSockets;

namespace NostrRelay.Testing.Hostile;

/// <summary>What a slow consumer found once it read again.</summary>
public sealed record SlowConsumerOutcome(string Name, int Subscriptions, long Events, long Bytes, int Eose, int ClosedSubscriptions, string? FirstClosedReason,
    int Notices, WebSocketCloseStatus? CloseStatus, string? CloseReason, bool EndedWithoutCloseFrame, bool StillOpen)
{
    /// <summary>The relay told it something: CLOSED for its subscriptions, or a close frame with a status.</summary>
    public bool Observed => ClosedSubscriptions > 0 || CloseStatus is not null;

    public override string ToString() =>
        $"{Name}: {Events:N0} events ({Bytes / (1024.0 * 1024):N1} MiB), {Eose} EOSE, {ClosedSubscriptions} of {Subscriptions} subscriptions CLOSED" +
        $"{(FirstClosedReason is null ? "" : $" (\"{FirstClosedReason}\")")}, {Notices} NOTICE; " +
        (CloseStatus is { } s ? $"connection closed {(int)s} {s} \"{CloseReason}\"" : EndedWithoutCloseFrame ? "connection ended without a close frame" : StillOpen ? "connection still open" : "connection ended");
}

/// <summary>
/// A connection that opens many subscriptions (the whole store, the largest limit) and then does not read: the
/// relay's writes to it back up. <see cref="ResumeAsync"/> reads again and says what the relay did meanwhile.
/// Frames cannot be checked in order here, only that the relay said something.
/// </summary>
public sealed class SlowConsumer(Uri relay, SlowConsumerScript script) : IAsyncDisposable
{
    private readonly ClientWebSocket _client = new();

    public SlowConsumerScript Script { get; } = script;

    /// <summary>Connects and sends every REQ; reads nothing.</summary>
    public async Task OpenAsync(CancellationToken cancellationToken)
    {
        _client.Options.KeepAliveInterval = TimeSpan.Zero;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(10));
        await _client.ConnectAsync(relay, timeout.Token);
        foreach (var (_, req) in Script.Requests) await _client.SendAsync(req, WebSocketMessageType.Text, true, timeout.Token);
    }

    /// <summary>
    /// Reads until the relay closes the connection, nothing arrives for <paramref name="quiet"/> (after every
    /// subscription was CLOSED, that is how long it waits for the relay to close the connection too), or
    /// <paramref name="limit"/> has passed.
    /// </summary>
    public async Task<SlowConsumerOutcome> ResumeAsync(TimeSpan quiet, TimeSpan limit)
    {
        var open = new HashSet<string>(Script.Requests.Select(r => r.SubscriptionId), StringComparer.Ordinal);
        long events = 0, bytes = 0;
        int eose = 0, closed = 0, notices = 0;
        string? firstReason = null;
        var abrupt = false;
        var stillOpen = false;
        var buffer = new byte[64 * 1024];
        var deadline = DateTime.UtcNow + limit;
        try
        {
            while (true)
            {
                var left = deadline - DateTime.UtcNow;
                if (left <= TimeSpan.Zero)
                {
                    stillOpen = true;
                    break;
                }
                using var wait = new CancellationTokenSource(left < quiet ? left : quiet);
                var length = 0;
                ValueWebSocketReceiveResult result;
                do
                {
                    if (length == buffer.Length) Array.Resize(ref buffer, buffer.Length * 2);
                    result = await _client.ReceiveAsync(buffer.AsMemory(length), wait.Token);
                    length += result.Count;
                }
                while (!result.EndOfMessage && result.MessageType != WebSocketMessageType.Close);
                if (result.MessageType == WebSocketMessageType.Close) break;   // the relay closed it: CloseStatus says how
                bytes += length;
                var reply = RelayReply.Parse(buffer.AsSpan(0, length));
                switch (reply.Type)
                {
                    case ReplyType.Event: events++; break;
                    case ReplyType.Eose: eose++; break;
                    case ReplyType.Notice: notices++; break;
                    case ReplyType.Closed:
                        if (reply.Key is not null && open.Remove(reply.Key))
                        {
                            closed++;
                            firstReason ??= reply.Message;
                        }
                        break;
                }
            }
        }
        catch (OperationCanceledException)
        {
            stillOpen = true;   // quiet: the relay sends nothing more and has not closed it (cancelling aborted our socket)
        }
        catch (WebSocketException)
        {
            abrupt = _client.CloseStatus is null;
        }
        return new SlowConsumerOutcome(Script.Name, Script.Requests.Count, events, bytes, eose, closed, firstReason, notices,
            _client.CloseStatus, _client.CloseStatusDescription, abrupt, stillOpen);
    }

    public ValueTask DisposeAsync()
    {
        _client.Abort();
        _client.Dispose();
        return ValueTask.CompletedTask;
    }
}
