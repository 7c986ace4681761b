using System.Buffers;
using System.Net.WebSockets;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using NostrRelay.Crypto;
using NostrRelay.Framing;
using NostrRelay.Grains;
using NostrRelay.Hosting;
using NostrRelay.Protocol;

namespace NostrRelay.Connections;

/// <summary>
/// One client's WebSocket. Reads frames (bounded before buffering), checks and verifies events here at
/// the edge, forwards them to author grains with a bounded number in flight, and writes replies and
/// subscription traffic through a bounded outbound queue. Holds nothing durable.
/// </summary>
internal sealed partial class RelayConnection
{
    private const int InitialReceiveBuffer = 16 * 1024;

    private readonly WebSocket _socket;
    private readonly GatewayShard _shard;
    private readonly RelayOptions _options;
    private readonly RelayLimits _limits;
    private readonly EventVerifier _verifier;
    private readonly IGrainFactory _grains;
    private readonly ILogger _logger;
    private readonly OutboundQueue _outbound;
    private readonly SemaphoreSlim _inFlight;
    private readonly Dictionary<string, Task> _authorTails = new(StringComparer.Ordinal);
    private readonly Dictionary<string, GatewaySubscription> _subscriptions = new(StringComparer.Ordinal);
    /// <summary>
    /// One subscription call to the shard grain at a time (REQ, CLOSE, resume, disconnect): a resume racing a
    /// CLOSE or a replacing REQ would otherwise leave the grain holding what the client no longer has.
    /// </summary>
    private readonly SemaphoreSlim _registrations = new(1, 1);
    private bool _ended;
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile bool _draining;

    public RelayConnection(long id, WebSocket socket, GatewayShard shard, RelayOptions options, EventVerifier verifier, IGrainFactory grains, ILogger logger)
    {
        Id = id;
        _socket = socket;
        _shard = shard;
        _options = options;
        _limits = options.Limits;
        _verifier = verifier;
        _grains = grains;
        _logger = logger;
        _outbound = new OutboundQueue(socket, options.MaxOutboundBytes);
        _inFlight = new SemaphoreSlim(options.MaxEventsInFlight, options.MaxEventsInFlight);
    }

    public long Id { get; }

    /// <summary>Completes when the connection has ended and its subscriptions are gone.</summary>
    public Task Completion => _completion.Task;

    public async Task RunAsync()
    {
        try
        {
            await ReceiveLoopAsync();
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
            await WaitForInFlightAsync(_options.ShutdownDrainTimeout);   // accepted EVENTs still get their OK
            await _registrations.WaitAsync();
            try
            {
                _ended = true;   // a resume after this would register REQs nobody will ever disconnect
                await _shard.Grain.DisconnectAsync(Id);
            }
            catch (Exception ex) { LogConnectionFailed(_logger, ex, Id); }
            finally { _registrations.Release(); }
            _shard.Remove(this);
            _outbound.Complete();
            await Task.WhenAny(_outbound.Closed, Task.Delay(TimeSpan.FromSeconds(5)));
            _socket.Abort();
            _socket.Dispose();
            _completion.TrySetResult();
        }
    }

    /// <summary>SIGTERM: refuse new EVENTs, let the ones in flight get their OK, then close with 1001.</summary>
    public async Task ShutdownAsync()
    {
        _draining = true;
        await WaitForInFlightAsync(_options.ShutdownDrainTimeout);
        _outbound.Complete(WebSocketCloseStatus.EndpointUnavailable, "relay shutting down");
        await Task.WhenAny(Completion, Task.Delay(TimeSpan.FromSeconds(3)));
        _socket.Abort();   // a client that never answers our close frame
    }

    private async Task ReceiveLoopAsync()
    {
        var max = _limits.MaxMessageBytes;
        var buffer = ArrayPool<byte>.Shared.Rent(Math.Min(InitialReceiveBuffer, max + 1));
        try
        {
            var length = 0;
            var refusing = false;   // the message is too large or binary: read the rest without keeping it
            while (true)
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
                var result = await _socket.ReceiveAsync(buffer.AsMemory(length), CancellationToken.None);
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
                    await HandleFrameAsync(buffer.AsMemory(0, length));
                length = 0;
                refusing = false;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private async ValueTask HandleFrameAsync(ReadOnlyMemory<byte> frame)
    {
        ParsedFrame parsed;
        try
        {
            parsed = Parse(frame.Span);
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            var id = FrameReader.PeekEventId(frame.Span);
            Reply(id is not null
                ? RelayFrames.Ok(id, false, "invalid: malformed event JSON")
                : RelayFrames.Notice("invalid: malformed JSON: " + ex.Message));
            return;
        }

        switch (parsed.Kind)
        {
            case ClientFrameKind.Event: await HandleEventAsync(parsed, frame); break;
            case ClientFrameKind.Req: await HandleReqAsync(parsed); break;
            case ClientFrameKind.Close: await HandleCloseAsync(parsed); break;
            case ClientFrameKind.Count:
                // NIP-45: a relay that does not support COUNT answers with CLOSED.
                if (parsed.SubscriptionId is { } countId) Reply(RelayFrames.Closed(countId, "unsupported: COUNT (NIP-45) is not supported by this relay"));
                else Reply(RelayFrames.Notice(parsed.Error ?? "invalid: COUNT needs a subscription id"));
                break;
            case ClientFrameKind.Auth:
                Reply(RelayFrames.Notice("unsupported: AUTH (NIP-42) is not supported by this relay"));
                break;
            case ClientFrameKind.Unknown:
                Reply(RelayFrames.Notice("invalid: unknown message type; this relay understands EVENT, REQ and CLOSE"));
                break;
            default:
                Reply(RelayFrames.Notice("invalid: a message must be a JSON array starting with its type, e.g. [\"REQ\", ...]"));
                break;
        }
    }

    private ParsedFrame Parse(ReadOnlySpan<byte> frame)
    {
        var reader = new Utf8JsonReader(frame, FrameReader.Options);
        var kind = FrameReader.ReadKind(ref reader);
        switch (kind)
        {
            case ClientFrameKind.Event:
                return FrameReader.TryReadEvent(ref reader, _limits, out var evt, out var eventError)
                    ? new ParsedFrame(kind) { Event = evt }
                    : new ParsedFrame(kind) { Error = eventError };
            case ClientFrameKind.Req:
            case ClientFrameKind.Count:
            {
                if (!FrameReader.TryReadSubscriptionId(ref reader, _limits, out var subscriptionId, out var idError))
                    return new ParsedFrame(kind) { SubscriptionId = subscriptionId, Error = idError };
                if (kind == ClientFrameKind.Count) return new ParsedFrame(kind) { SubscriptionId = subscriptionId };
                return FrameReader.TryReadFilters(ref reader, _limits, out var filters, out var filterError)
                    ? new ParsedFrame(kind) { SubscriptionId = subscriptionId, Filters = filters }
                    : new ParsedFrame(kind) { SubscriptionId = subscriptionId, Error = filterError };
            }
            case ClientFrameKind.Close:
            {
                if (!FrameReader.TryReadSubscriptionId(ref reader, _limits, out var subscriptionId, out var idError))
                    return new ParsedFrame(kind) { Error = idError };
                if (!reader.Read() || reader.TokenType != JsonTokenType.EndArray)
                    return new ParsedFrame(kind) { Error = "invalid: CLOSE takes exactly one subscription id" };
                return new ParsedFrame(kind) { SubscriptionId = subscriptionId };
            }
            default:
                return new ParsedFrame(kind);
        }
    }

    private async ValueTask HandleEventAsync(ParsedFrame parsed, ReadOnlyMemory<byte> frame)
    {
        if (parsed.Event is not { } evt)
        {
            var id = FrameReader.PeekEventId(frame.Span);
            Reply(id is not null ? RelayFrames.Ok(id, false, parsed.Error!) : RelayFrames.Notice(parsed.Error!));
            return;
        }
        if (evt.Content.Length > _limits.MaxContentLength && evt.Content.EnumerateRunes().Count() > _limits.MaxContentLength)
        {
            Reply(RelayFrames.Ok(evt.Id, false, $"invalid: content is longer than {_limits.MaxContentLength} characters"));
            return;
        }
        if (_draining)
        {
            Reply(RelayFrames.Ok(evt.Id, false, "error: relay is shutting down; send it again after reconnecting"));
            return;
        }
        if (_verifier.Check(evt) is { } problem)
        {
            Reply(RelayFrames.Ok(evt.Id, false, problem));
            return;
        }
        await _inFlight.WaitAsync();   // bounded pipelining: beyond the bound we stop reading this socket
        Dispatch(evt);
    }

    /// <summary>
    /// Sends the event to its author's grain without waiting, so many EVENTs are in flight; an event
    /// waits only for the previous one of the same author from this connection, so each author grain
    /// sees one connection's events in arrival order (Orleans does not order concurrent calls).
    /// </summary>
    private void Dispatch(NostrEvent evt)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Task? previous;
        lock (_authorTails)
        {
            _authorTails.TryGetValue(evt.Pubkey, out previous);
            _authorTails[evt.Pubkey] = done.Task;
        }
        _ = AppendAsync(evt, previous, done);
    }

    private async Task AppendAsync(NostrEvent evt, Task? previous, TaskCompletionSource done)
    {
        try
        {
            if (previous is not null) await previous;
            var result = await _grains.GetGrain<IAuthorStreamGrain>(evt.Pubkey).AppendAsync(evt);
            Reply(RelayFrames.Ok(evt.Id, result.Ok, result.Message));
        }
        catch (Exception ex)
        {
            LogAppendFailed(_logger, ex, evt.Id);
            Reply(RelayFrames.Ok(evt.Id, false, "error: the event could not be stored; try again"));
        }
        finally
        {
            lock (_authorTails)
            {
                if (_authorTails.TryGetValue(evt.Pubkey, out var tail) && tail == done.Task) _authorTails.Remove(evt.Pubkey);
            }
            done.SetResult();
            _inFlight.Release();
        }
    }

    private async ValueTask HandleReqAsync(ParsedFrame parsed)
    {
        if (parsed.SubscriptionId is not { } subscriptionId)
        {
            Reply(RelayFrames.Notice(parsed.Error ?? "invalid: REQ needs a subscription id"));
            return;
        }
        if (parsed.Error is { } error)
        {
            Reply(RelayFrames.Closed(subscriptionId, error));
            return;
        }
        if (_draining)
        {
            Reply(RelayFrames.Closed(subscriptionId, "error: relay is shutting down"));
            return;
        }
        lock (_subscriptions)
        {
            if (!_subscriptions.ContainsKey(subscriptionId) && _subscriptions.Count >= _limits.MaxSubscriptions)
            {
                Reply(RelayFrames.Closed(subscriptionId, $"blocked: too many open subscriptions (max {_limits.MaxSubscriptions}); CLOSE one first"));
                return;
            }
            // Resumes start from the REQ's moment at the earliest: what came before went out as stored events.
            _subscriptions[subscriptionId] = new GatewaySubscription(parsed.Filters!, DateTimeOffset.UtcNow.ToUnixTimeSeconds());
        }
        await _registrations.WaitAsync();
        try
        {
            await _shard.Grain.SubscribeAsync(Id, subscriptionId, parsed.Filters!);
        }
        catch (Exception ex)
        {
            LogSubscribeFailed(_logger, ex, subscriptionId);
            lock (_subscriptions) _subscriptions.Remove(subscriptionId);
            Reply(RelayFrames.Closed(subscriptionId, "error: could not open the subscription; try again"));
        }
        finally
        {
            _registrations.Release();
        }
    }

    private async ValueTask HandleCloseAsync(ParsedFrame parsed)
    {
        if (parsed.SubscriptionId is not { } subscriptionId)
        {
            Reply(RelayFrames.Notice(parsed.Error ?? "invalid: CLOSE needs a subscription id"));
            return;
        }
        bool known;
        lock (_subscriptions) known = _subscriptions.Remove(subscriptionId);
        if (!known) return;   // NIP-01 asks no answer to CLOSE; an unknown id is simply done
        await UnsubscribeQuietlyAsync(subscriptionId);
    }

    /// <summary>Called by the shard observer, in the order the subscription grain sent them.</summary>
    public void Deliver(Delivery delivery, long now)
    {
        var subscriptionId = delivery.SubscriptionId;
        switch (delivery.Kind)
        {
            case DeliveryKind.Event:
                lock (_subscriptions)
                {
                    if (!_subscriptions.TryGetValue(subscriptionId, out var subscription)) return;   // CLOSEd meanwhile
                    subscription.Sent(delivery.Event!, now);
                }
                if (!_outbound.TryEnqueue(RelayFrames.Event(subscriptionId, delivery.Event!.Json))) CloseSlowSubscription(subscriptionId);
                break;
            case DeliveryKind.EndOfStoredEvents:
                lock (_subscriptions)
                {
                    if (!_subscriptions.TryGetValue(subscriptionId, out var subscription)) return;
                    subscription.EndOfStoredEventsSent = true;
                }
                Reply(RelayFrames.EndOfStoredEvents(subscriptionId));
                break;
            case DeliveryKind.Closed:
                lock (_subscriptions) { if (!_subscriptions.Remove(subscriptionId)) return; }
                Reply(RelayFrames.Closed(subscriptionId, delivery.Message ?? "error: closed by the relay"));
                break;
        }
    }

    /// <summary>
    /// The shard's subscription grain was re-activated empty (its silo died): register every open REQ again,
    /// from where the client got to, or whole when its EOSE had not come yet. Returns how many were registered.
    /// </summary>
    public async Task<int> ResumeSubscriptionsAsync()
    {
        string[] ids;
        lock (_subscriptions) ids = [.. _subscriptions.Keys];
        var registered = 0;
        foreach (var id in ids)
        {
            await _registrations.WaitAsync();
            try
            {
                if (_ended) break;
                Filter[] filters;
                ResumePoint? from;
                lock (_subscriptions)
                {
                    if (!_subscriptions.TryGetValue(id, out var subscription)) continue;   // CLOSEd meanwhile
                    filters = subscription.Filters;   // a REQ that replaced it meanwhile: its filters
                    from = subscription.EndOfStoredEventsSent ? subscription.ResumeFrom() : null;
                }
                if (from is null) await _shard.Grain.SubscribeAsync(Id, id, filters);
                else await _shard.Grain.ResumeAsync(Id, id, filters, from);
                registered++;
            }
            catch (Exception ex)
            {
                LogSubscribeFailed(_logger, ex, id);
                bool known;
                lock (_subscriptions) known = _subscriptions.Remove(id);
                if (known) Reply(RelayFrames.Closed(id, "error: lost this subscription in a relay failover; REQ again with since"));
            }
            finally
            {
                _registrations.Release();
            }
        }
        return registered;
    }

    /// <summary>The client reads slower than its subscriptions produce: end the one that overflowed, say why.</summary>
    private void CloseSlowSubscription(string subscriptionId)
    {
        lock (_subscriptions) { if (!_subscriptions.Remove(subscriptionId)) return; }
        LogSlowConsumer(_logger, Id, subscriptionId);
        Reply(RelayFrames.Closed(subscriptionId, "error: this connection reads too slowly; subscription closed, REQ again with since"));
        _ = UnsubscribeQuietlyAsync(subscriptionId);
    }

    private async Task UnsubscribeQuietlyAsync(string subscriptionId)
    {
        await _registrations.WaitAsync();
        try { await _shard.Grain.UnsubscribeAsync(Id, subscriptionId); }
        catch (Exception ex) { LogSubscribeFailed(_logger, ex, subscriptionId); }
        finally { _registrations.Release(); }
    }

    private void Reply(OutboundFrame frame) => _outbound.EnqueueReply(frame);

    private async Task WaitForInFlightAsync(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (_inFlight.CurrentCount < _options.MaxEventsInFlight && DateTime.UtcNow < deadline)
            await Task.Delay(10);
    }

    private readonly record struct ParsedFrame(ClientFrameKind Kind)
    {
        public NostrEvent? Event { get; init; }
        public string? SubscriptionId { get; init; }
        public Filter[]? Filters { get; init; }
        public string? Error { get; init; }
    }

    [LoggerMessage(EventId = 400, Level = LogLevel.Debug, Message = "Connection {ConnectionId} ended: {Reason}")]
    private static partial void LogConnectionLost(ILogger logger, long connectionId, string reason);

    [LoggerMessage(EventId = 401, Level = LogLevel.Error, Message = "Connection {ConnectionId} failed")]
    private static partial void LogConnectionFailed(ILogger logger, Exception ex, long connectionId);

    [LoggerMessage(EventId = 402, Level = LogLevel.Error, Message = "Append of event {EventId} failed")]
    private static partial void LogAppendFailed(ILogger logger, Exception ex, string eventId);

    [LoggerMessage(EventId = 403, Level = LogLevel.Warning, Message = "Subscription call for {SubscriptionId} failed")]
    private static partial void LogSubscribeFailed(ILogger logger, Exception ex, string subscriptionId);

    [LoggerMessage(EventId = 404, Level = LogLevel.Information, Message = "Connection {ConnectionId} is too slow; closed subscription {SubscriptionId}")]
    private static partial void LogSlowConsumer(ILogger logger, long connectionId, string subscriptionId);
}
