using System.Buffers;
using System.Net.WebSockets;
using Microsoft.Extensions.Logging;
using NostrRelay.Framing;
using NostrRelay.Hosting;
using NostrRelay.Messages;
using NostrRelay.Metrics;
using NostrRelay.Policies;

namespace NostrRelay.Connections;

/// <summary>
/// One client's WebSocket: reads messages (bounded before they are buffered) and hands each to its verb's handler
/// (<see cref="ClientMessages"/>), and writes replies and subscription traffic through a bounded outbound queue. It
/// keeps the connection's state (EVENTs in flight, open REQs) and nothing durable.
/// </summary>
internal sealed partial class RelayConnection
{
    private const int InitialReceiveBuffer = 16 * 1024;

    private readonly WebSocket _socket;
    private readonly ClientMessages _messages;
    private readonly RelayOptions _options;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _receiving = new();
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _received = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly IGrainFactory _grains;
    private readonly PolicyPipeline _policies;
    private EventsInFlight? _events;
    private CountsInFlight? _counts;
    private int _slowCheck;
    private volatile bool _draining;

    public RelayConnection(long id, ClientContext client, WebSocket socket, GatewayShard shard, RelayOptions options, ClientMessages messages,
        IGrainFactory grains, ClusterCallWatch calls, PolicyPipeline policies, RelayMetrics metrics, ILogger logger, TransportStream? direct = null)
    {
        Metrics = metrics;
        Calls = calls;
        Id = id;
        Client = client;
        Shard = shard;
        _socket = socket;
        _messages = messages;
        _options = options;
        _logger = logger;
        Outbound = new OutboundQueue(socket, options.MaxOutboundBytes, drained: episode => _ = Subscriptions!.DrainedAsync(episode), sent: metrics.Sent, direct: direct);
        _grains = grains;
        _policies = policies;
        Subscriptions = new ConnectionSubscriptions(this, options.Limits.MaxSubscriptions, policies, logger);
    }

    public long Id { get; }

    /// <summary>Lets calls caught on a lost gateway connection go, in a gateway-only process.</summary>
    public ClusterCallWatch Calls { get; }

    public RelayMetrics Metrics { get; }

    /// <summary>This connection as policies see it.</summary>
    public ClientContext Client { get; }

    /// <summary>The slice of the gateway, and its subscription grain, that serves this connection's REQs.</summary>
    public GatewayShard Shard { get; }

    public OutboundQueue Outbound { get; }
    /// <summary>Made at the first EVENT: most connections only read, and an idle one should hold little.</summary>
    public EventsInFlight Events => _events ?? Made(ref _events, new EventsInFlight(_grains, Calls, _options.MaxEventsInFlight, Outbound, _policies, Client, Metrics, _logger));

    /// <summary>Made at the first COUNT.</summary>
    public CountsInFlight Counts => _counts ?? Made(ref _counts, new CountsInFlight(_grains, Calls, Math.Max(1, _options.MaxCountsInFlight), Reply, _logger));

    private static T Made<T>(ref T? field, T made) where T : class => Interlocked.CompareExchange(ref field, made, null) ?? made;
    public ConnectionSubscriptions Subscriptions { get; }

    /// <summary>NIP-77 sessions, made at the first NEG-OPEN (most connections never reconcile).</summary>
    public NegentropySessions? Negentropy { get; set; }

    /// <summary>True once the relay is shutting down: new EVENTs and REQs are refused.</summary>
    public bool Draining => _draining;

    /// <summary>True when the connection ended without a completed close handshake (the socket failed it, or the peer vanished).</summary>
    public bool EndedWithoutHandshake { get; private set; }

    /// <summary>Completes when the connection has ended and its subscriptions are gone.</summary>
    public Task Completion => _completion.Task;

    /// <summary>NIP-42: an <c>auth-required:</c> refusal comes with the connection's challenge, so the client can answer it.</summary>
    public void ChallengeIfAuthRequired(string refusal)
    {
        if (refusal.StartsWith(PolicyResult.AuthRequiredPrefix, StringComparison.Ordinal)) Reply(RelayFrames.Auth(Client.Challenge));
    }

    /// <summary>An EVENT refused before it went anywhere (shape, size, signature, a policy): its OK false, counted.</summary>
    public void RefuseEvent(string eventId, string message)
    {
        Reply(RelayFrames.Ok(eventId, false, message));
        Metrics.Refused(message);
    }

    /// <summary>Queues a reply to the client's own message (OK, CLOSED, NOTICE): taken whatever the byte bound.</summary>
    public void Reply(OutboundFrame frame) => Outbound.EnqueueReply(frame);

    public async Task RunAsync()
    {
        try
        {
            await ReceiveLoopAsync();
            LogConnectionLost(_logger, Id, "closed by the client");
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or IOException)
        {
            LogConnectionLost(_logger, Id, ex.Message);
        }
        catch (Exception ex)
        {
            LogConnectionFailed(_logger, ex, Id);
        }
        finally
        {
            _received.TrySetResult();
            Negentropy?.CloseAll();
            if (_events is { } events) await events.DrainAsync(_options.ShutdownDrainTimeout);   // accepted EVENTs still get their OK
            await Subscriptions.DisconnectAsync();
            Shard.Remove(this);
            Outbound.Complete();
            await Task.WhenAny(Outbound.Closed, Task.Delay(TimeSpan.FromSeconds(5)));
            EndedWithoutHandshake = _socket.State != WebSocketState.Closed;
            if (_socket.State is not (WebSocketState.Closed or WebSocketState.CloseSent or WebSocketState.Aborted)) _socket.Abort();
            _completion.TrySetResult();   // the endpoint disposes the socket, once its close frame had its chance
        }
    }

    /// <summary>SIGTERM: refuse new EVENTs, let the ones in flight get their OK, then close with 1001.</summary>
    public async Task ShutdownAsync()
    {
        _draining = true;
        if (_events is { } events) await events.DrainAsync(_options.ShutdownDrainTimeout);
        Outbound.Complete(WebSocketCloseStatus.EndpointUnavailable, "relay shutting down");
        await Task.WhenAny(Completion, Task.Delay(TimeSpan.FromSeconds(3)));
        _socket.Abort();   // a client that never answers our close frame
    }

    /// <summary>
    /// Every REQ of this connection was closed because it did not read. If it still has not caught up after the
    /// grace period, nothing it asked for is worth holding: the connection is closed, and what was queued for it freed.
    /// </summary>
    public void AllSubscriptionsClosedAsSlow()
    {
        if (Interlocked.Exchange(ref _slowCheck, 1) == 0) _ = CloseIfStillSlowAsync();
    }

    private async Task CloseIfStillSlowAsync()
    {
        try
        {
            await Task.Delay(_options.SlowConsumerGrace, _receiving.Token);
            // Caught up meanwhile (under a quarter of its budget queued), or it opened new REQs: it reads again.
            if (Outbound.QueuedBytes < _options.MaxOutboundBytes / 4 || Subscriptions.Count > 0) return;
            LogSlowConnectionClosed(_logger, Id, Outbound.QueuedBytes);
            // Its events are dropped; its CLOSED replies and the close frame wait behind what its socket already holds,
            // for as long as a silent peer is given anyway (no pong within IdleTimeout ends it).
            Outbound.Complete(WebSocketCloseStatus.PolicyViolation, "too slow: the client did not read what it asked for", dropSubscriptionTraffic: true);
            // The client's answer to the close frame ends the receive loop; cutting it earlier would reset the connection
            // and lose what the socket still holds for the client.
            await Task.WhenAny(_received.Task, Task.Delay(_options.IdleTimeout));
            _receiving.Cancel();   // a client that never answered: end the receive loop, which frees the rest
        }
        catch (OperationCanceledException)
        {
        }
        finally
        {
            Volatile.Write(ref _slowCheck, 0);
        }
    }

    /// <summary>
    /// Between messages the connection waits with a zero-byte read and holds no buffer: an idle connection then costs
    /// its objects only, not 16 KiB of pooled array (the pool keeps few arrays, so each idle one was its own). The
    /// buffer is rented when a message starts and returned once it is handled.
    /// </summary>
    private async Task ReceiveLoopAsync()
    {
        var max = _options.Limits.MaxMessageBytes;
        byte[]? buffer = null;
        try
        {
            var length = 0;
            var refusing = false;   // the message is too large or binary: read the rest without keeping it
            while (true)
            {
                ValueWebSocketReceiveResult result;
                if (buffer is null)
                {
                    result = await _socket.ReceiveAsync(Memory<byte>.Empty, _receiving.Token);
                    if (result.MessageType == WebSocketMessageType.Close) return;
                    buffer = ArrayPool<byte>.Shared.Rent(Math.Min(InitialReceiveBuffer, max + 1));
                }
                else
                {
                    if (length == buffer.Length)
                    {
                        if (buffer.Length > max) { refusing = true; length = 0; }
                        else
                        {
                            var bigger = ArrayPool<byte>.Shared.Rent(Math.Min(buffer.Length * 2, max + 1));
                            buffer.AsSpan(0, length).CopyTo(bigger);
                            ArrayPool<byte>.Shared.Return(buffer);
                            buffer = bigger;
                        }
                    }
                    result = await _socket.ReceiveAsync(buffer.AsMemory(length), _receiving.Token);
                }
                if (result.MessageType == WebSocketMessageType.Close) return;
                if (result.MessageType == WebSocketMessageType.Binary) refusing = true;
                if (refusing) length = 0;
                else
                {
                    length += result.Count;
                    if (length > max) { refusing = true; length = 0; }
                }
                if (!result.EndOfMessage) continue;

                if (result.MessageType == WebSocketMessageType.Binary)
                    Reply(RelayFrames.Notice("invalid: binary messages are not supported; send NIP-01 JSON as text"));
                else if (refusing)
                    Reply(RelayFrames.Notice($"invalid: message is larger than {max} bytes"));
                else
                {
                    Metrics.Received(length);
                    await _messages.HandleAsync(this, buffer.AsMemory(0, length));
                }
                length = 0;
                refusing = false;
                ArrayPool<byte>.Shared.Return(buffer);
                buffer = null;
            }
        }
        finally
        {
            if (buffer is not null) ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    [LoggerMessage(EventId = 400, Level = LogLevel.Debug, Message = "Connection {ConnectionId} ended: {Reason}")]
    private static partial void LogConnectionLost(ILogger logger, long connectionId, string reason);

    [LoggerMessage(EventId = 401, Level = LogLevel.Error, Message = "Connection {ConnectionId} failed")]
    private static partial void LogConnectionFailed(ILogger logger, Exception ex, long connectionId);

    [LoggerMessage(EventId = 405, Level = LogLevel.Information, Message = "Connection {ConnectionId} closed: every subscription was too slow and {Bytes} bytes still wait for it")]
    private static partial void LogSlowConnectionClosed(ILogger logger, long connectionId, long bytes);
}
