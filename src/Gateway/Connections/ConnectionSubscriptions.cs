using Microsoft.Extensions.Logging;
using NostrRelay.Framing;
using NostrRelay.Grains;
using NostrRelay.Policies;
using NostrRelay.Protocol;

namespace NostrRelay.Connections;

/// <summary>
/// One connection's open REQs as the gateway remembers them, and the calls that keep the shard's subscription
/// grain in step: open, close, resume after a failover, disconnect. Those calls go one at a time: a resume racing a
/// CLOSE or a replacing REQ would otherwise leave the grain holding what the client no longer has. Deliveries from
/// the grain arrive here and go to the connection's bounded outbound queue; a subscription that would overflow it is
/// closed as slow.
/// </summary>
internal sealed partial class ConnectionSubscriptions(RelayConnection connection, int maxSubscriptions, PolicyPipeline policies, ILogger logger)
{
    private readonly Dictionary<string, GatewaySubscription> _open = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _calls = new(1, 1);
    private bool _ended;

    private ISubscriptionGrain Grain => connection.Shard.Grain;
    private ClusterCallWatch Calls => connection.Calls;

    public int Count
    {
        get { lock (_open) return _open.Count; }
    }

    public async ValueTask OpenAsync(string subscriptionId, Filter[] filters)
    {
        lock (_open)
        {
            if (!_open.ContainsKey(subscriptionId) && _open.Count >= maxSubscriptions)
            {
                connection.Reply(RelayFrames.Closed(subscriptionId, $"blocked: too many open subscriptions (max {maxSubscriptions}); CLOSE one first"));
                return;
            }
            // Resumes start from the REQ's moment at the earliest: what came before went out as stored events.
            _open[subscriptionId] = new GatewaySubscription(filters, DateTimeOffset.UtcNow.ToUnixTimeSeconds());
        }
        await _calls.WaitAsync();
        using var scope = logger.BeginScope("Subscription {SubscriptionId}", subscriptionId);
        try
        {
            await Calls.CallAsync(() => Grain.SubscribeAsync(connection.Id, subscriptionId, filters));
        }
        catch (Exception ex)
        {
            LogSubscribeFailed(logger, ex, subscriptionId);
            lock (_open) _open.Remove(subscriptionId);
            connection.Reply(RelayFrames.Closed(subscriptionId, "error: could not open the subscription; try again"));
        }
        finally
        {
            _calls.Release();
        }
    }

    public ValueTask CloseAsync(string subscriptionId)
    {
        bool known;
        lock (_open) known = _open.Remove(subscriptionId);
        return known ? new ValueTask(UnsubscribeQuietlyAsync(subscriptionId)) : default;
    }

    /// <summary>Called by the shard observer, in the order the subscription grain sent them.</summary>
    public void Deliver(Delivery delivery, long now)
    {
        var subscriptionId = delivery.SubscriptionId;
        switch (delivery.Kind)
        {
            case DeliveryKind.Event:
                bool live;
                lock (_open)
                {
                    if (!_open.TryGetValue(subscriptionId, out var subscription)) return;   // CLOSEd meanwhile
                    // Kept from this client or not, it is behind the resume point; one sent already is not sent again.
                    if (!subscription.TrySend(delivery.Event!, now)) return;
                    live = subscription.EndOfStoredEventsSent;
                }
                var evt = delivery.Event!;
                if (policies.HasDeliveryPolicies)
                {
                    if (policies.Outgoing(evt, connection.Client) is not { } outgoing) return;
                    evt = outgoing;
                }
                if (!connection.Outbound.TryEnqueue(RelayFrames.Event(subscriptionId, evt.Json)))
                {
                    if (!connection.Outbound.Completing) CloseSlow(subscriptionId);
                }
                else if (live) connection.Metrics.LiveDelivery();
                break;
            case DeliveryKind.EndOfStoredEvents:
                long started;
                lock (_open)
                {
                    // A second one comes only from a REQ registered twice (sent again after a lost gateway): one EOSE per REQ.
                    if (!_open.TryGetValue(subscriptionId, out var subscription) || subscription.EndOfStoredEventsSent) return;
                    subscription.EndOfStoredEventsSent = true;
                    started = subscription.Started;
                }
                connection.Reply(RelayFrames.EndOfStoredEvents(subscriptionId));
                connection.Metrics.EndOfStoredEvents(started);
                break;
            case DeliveryKind.Closed:
                lock (_open) { if (!_open.Remove(subscriptionId)) return; }
                connection.Reply(RelayFrames.Closed(subscriptionId, delivery.Message ?? "error: closed by the relay"));
                break;
        }
    }

    /// <summary>
    /// The shard's subscription grain was re-activated empty (its silo died): register every open REQ again,
    /// from where the client got to, or whole when its EOSE had not come yet. Returns how many were registered.
    /// </summary>
    public async Task<int> ResumeAsync()
    {
        string[] ids;
        lock (_open) ids = [.. _open.Keys];
        var registered = 0;
        foreach (var id in ids)
        {
            await _calls.WaitAsync();
            try
            {
                if (_ended) break;
                Filter[] filters;
                ResumePoint? from;
                lock (_open)
                {
                    if (!_open.TryGetValue(id, out var subscription)) continue;   // CLOSEd meanwhile
                    filters = subscription.Filters;   // a REQ that replaced it meanwhile: its filters
                    from = subscription.EndOfStoredEventsSent ? subscription.ResumeFrom(connection.Shard.ResumeAfter()) : null;
                }
                // A call made again (its gateway lost too) goes on from what the first one had sent meanwhile.
                var attempts = 0;
                await Calls.CallAsync(() =>
                {
                    var point = attempts++ == 0 ? from : ResumePointNow(id, from);
                    return point is null ? Grain.SubscribeAsync(connection.Id, id, filters) : Grain.ResumeAsync(connection.Id, id, filters, point);
                });
                registered++;
            }
            catch (Exception ex)
            {
                LostInFailover(id, ex, "error: lost this subscription in a relay failover; REQ again with since");
            }
            finally
            {
                _calls.Release();
            }
        }
        return registered;
    }

    /// <summary>
    /// Registers an open REQ whole again, unless its EOSE has come: called when its answer came from a grain activation
    /// the gateway had moved on from (<see cref="GatewayShard"/>), which is the only one that held it.
    /// </summary>
    public async Task RegisterAgainAsync(string subscriptionId)
    {
        await _calls.WaitAsync();
        try
        {
            if (_ended) return;
            Filter[] filters;
            lock (_open)
            {
                if (!_open.TryGetValue(subscriptionId, out var subscription) || subscription.EndOfStoredEventsSent) return;
                filters = subscription.Filters;
            }
            LogRegisteredAgain(logger, subscriptionId);
            await Calls.CallAsync(() => Grain.SubscribeAsync(connection.Id, subscriptionId, filters));
        }
        catch (Exception ex)
        {
            LostInFailover(subscriptionId, ex, "error: lost this subscription in a relay failover; REQ again");
        }
        finally
        {
            _calls.Release();
        }
    }

    /// <summary>A REQ the grain could not be given again: the client is told, unless it closed it meanwhile.</summary>
    private void LostInFailover(string subscriptionId, Exception ex, string reason)
    {
        LogSubscribeFailed(logger, ex, subscriptionId);
        bool known;
        lock (_open) known = _open.Remove(subscriptionId);
        if (known) connection.Reply(RelayFrames.Closed(subscriptionId, reason));
    }

    /// <summary>
    /// Where an open subscription resumes from now: null while its EOSE has not gone out (registered whole again);
    /// <paramref name="fallback"/> once it is closed (the CLOSE waiting behind this call ends it on the grain).
    /// </summary>
    private ResumePoint? ResumePointNow(string subscriptionId, ResumePoint? fallback)
    {
        lock (_open)
        {
            if (!_open.TryGetValue(subscriptionId, out var subscription)) return fallback;
            return subscription.EndOfStoredEventsSent ? subscription.ResumeFrom(connection.Shard.ResumeAfter()) : null;
        }
    }

    /// <summary>The socket caught up after the grain was told it was behind: its stored-event reads go on.</summary>
    public async Task DrainedAsync(int episode)
    {
        try { await Calls.CallAsync(() => Grain.DrainedAsync(connection.Id, episode)); }
        catch (Exception ex) { LogSubscribeFailed(logger, ex, "*"); }   // the grain's pause runs out on its own
    }

    /// <summary>The connection ended: the grain lets go of every REQ, and no resume registers one again.</summary>
    public async Task DisconnectAsync()
    {
        await _calls.WaitAsync();
        try
        {
            _ended = true;
            await Calls.CallAsync(() => Grain.DisconnectAsync(connection.Id));
        }
        catch (Exception ex) { LogSubscribeFailed(logger, ex, "*"); }
        finally { _calls.Release(); }
    }

    /// <summary>The client reads slower than its subscriptions produce: end the one that overflowed, say why.</summary>
    private void CloseSlow(string subscriptionId)
    {
        bool none;
        lock (_open)
        {
            if (!_open.Remove(subscriptionId)) return;
            none = _open.Count == 0;
        }
        LogSlowConsumer(logger, connection.Id, subscriptionId);
        connection.Reply(RelayFrames.Closed(subscriptionId, "error: this connection reads too slowly; subscription closed, REQ again with since"));
        connection.Metrics.SlowConsumerClosed();
        _ = UnsubscribeQuietlyAsync(subscriptionId);
        if (none) connection.AllSubscriptionsClosedAsSlow();
    }

    private async Task UnsubscribeQuietlyAsync(string subscriptionId)
    {
        await _calls.WaitAsync();
        try { await Calls.CallAsync(() => Grain.UnsubscribeAsync(connection.Id, subscriptionId)); }
        catch (Exception ex) { LogSubscribeFailed(logger, ex, subscriptionId); }
        finally { _calls.Release(); }
    }

    [LoggerMessage(EventId = 403, Level = LogLevel.Warning, Message = "Subscription call for {SubscriptionId} failed")]
    private static partial void LogSubscribeFailed(ILogger logger, Exception ex, string subscriptionId);

    [LoggerMessage(EventId = 409, Level = LogLevel.Warning, Message = "Subscription {SubscriptionId} was answered by a subscription grain activation the gateway had moved on from; registering it again")]
    private static partial void LogRegisteredAgain(ILogger logger, string subscriptionId);

    [LoggerMessage(EventId = 404, Level = LogLevel.Information, Message = "Connection {ConnectionId} is too slow; closed subscription {SubscriptionId}")]
    private static partial void LogSlowConsumer(ILogger logger, long connectionId, string subscriptionId);
}
