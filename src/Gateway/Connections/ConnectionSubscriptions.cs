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
/// closed as slow. The grain knows each REQ by a name of its own (<see cref="SubscriptionKey"/>), so what it sent for a
/// REQ the client has since closed or replaced by its id is told apart and dropped.
/// </summary>
internal sealed partial class ConnectionSubscriptions(RelayConnection connection, int maxSubscriptions, PolicyPipeline policies, ILogger logger)
{
    private readonly Dictionary<string, GatewaySubscription> _open = new(StringComparer.Ordinal);
    /// <summary>The open REQs looked up by the id inside a delivery's key, with no string made per delivery.</summary>
    private Dictionary<string, GatewaySubscription>.AlternateLookup<ReadOnlySpan<char>> ById => _open.GetAlternateLookup<ReadOnlySpan<char>>();
    /// <summary>REQs opened on this connection: each one's number in its <see cref="SubscriptionKey"/>.</summary>
    private int _opened;
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
        GatewaySubscription subscription;
        GatewaySubscription? replaced;
        lock (_open)
        {
            if (!_open.TryGetValue(subscriptionId, out replaced) && _open.Count >= maxSubscriptions)
            {
                connection.Reply(RelayFrames.Closed(subscriptionId, $"blocked: too many open subscriptions (max {maxSubscriptions}); CLOSE one first"));
                return;
            }
            // Resumes start from the REQ's moment at the earliest: what came before went out as stored events.
            subscription = new GatewaySubscription(filters, DateTimeOffset.UtcNow.ToUnixTimeSeconds()) { Key = SubscriptionKey.Of(subscriptionId, ++_opened) };
            _open[subscriptionId] = subscription;
        }
        await _calls.WaitAsync();
        try
        {
            using var scope = logger.BeginScope("Subscription {SubscriptionId}", subscriptionId);
            try
            {
                // Replaced again while this call waited: the grain is not given a REQ the client no longer has. Registered
                // already by a resume that ran meanwhile: the grain has it whole.
                if (Current(subscriptionId, subscription) && !subscription.Registered)
                {
                    subscription.Registered = true;
                    await Calls.CallAsync(() => Grain.SubscribeAsync(connection.Id, subscription.Key, filters));
                    await RetryOrphansAsync();
                }
            }
            catch (Exception ex)
            {
                LogSubscribeFailed(logger, ex, subscriptionId);
                bool known;
                lock (_open) known = Current(subscriptionId, subscription) && _open.Remove(subscriptionId);
                if (known) connection.Reply(RelayFrames.Closed(subscriptionId, "error: could not open the subscription; try again"));
            }
            await LetGoIfGoneAsync(subscriptionId, subscription);
            // NIP-01: the new REQ replaces the one of its id. It counted in first, so filters both share stay announced.
            if (replaced is not null) await UnsubscribeAsync(replaced);
        }
        finally
        {
            _calls.Release();
        }
    }

    /// <summary>
    /// After a call that gave the grain a REQ, failed or not: a REQ the client no longer has (closed, replaced, ended by
    /// the relay, or refused as failed meanwhile) is taken off again, as a failed call may still have reached the grain
    /// and no later REQ of the id replaces it there. Called holding <see cref="_calls"/>.
    /// </summary>
    private Task LetGoIfGoneAsync(string subscriptionId, GatewaySubscription subscription) =>
        subscription.Registered && !Current(subscriptionId, subscription) ? UnsubscribeAsync(subscription) : Task.CompletedTask;

    /// <summary>True while <paramref name="subscription"/> is the open REQ of its id.</summary>
    private bool Current(string subscriptionId, GatewaySubscription subscription)
    {
        lock (_open) return _open.TryGetValue(subscriptionId, out var open) && ReferenceEquals(open, subscription);
    }

    public ValueTask CloseAsync(string subscriptionId)
    {
        GatewaySubscription? closed;
        lock (_open) _open.Remove(subscriptionId, out closed);
        return closed is not null ? new ValueTask(UnsubscribeQuietlyAsync(closed)) : default;
    }

    /// <summary>The open REQ a delivery is for, and its client's id: none when the delivery is an earlier REQ's of that id.</summary>
    private GatewaySubscription? OpenFor(string key, out string subscriptionId)
    {
        if (ById.TryGetValue(SubscriptionKey.IdIn(key), out subscriptionId!, out var subscription) && string.Equals(subscription.Key, key, StringComparison.Ordinal))
            return subscription;
        subscriptionId = "";
        return null;
    }

    /// <summary>
    /// Called by the shard observer, in the order the subscription grain sent them. One for a REQ the client closed or
    /// replaced meanwhile (an earlier key) goes nowhere.
    /// </summary>
    public void Deliver(Delivery delivery, long now)
    {
        string subscriptionId;
        switch (delivery.Kind)
        {
            case DeliveryKind.Event:
                bool live;
                GatewaySubscription? subscription;
                lock (_open)
                {
                    if ((subscription = OpenFor(delivery.SubscriptionId, out subscriptionId)) is null) return;
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
                    if (!connection.Outbound.Completing) CloseSlow(subscriptionId, subscription);
                }
                else if (live) connection.Metrics.LiveDelivery();
                break;
            case DeliveryKind.EndOfStoredEvents:
                long started;
                lock (_open)
                {
                    // A second one comes only from a REQ registered twice (sent again after a lost gateway): one EOSE per REQ.
                    if (OpenFor(delivery.SubscriptionId, out subscriptionId) is not { EndOfStoredEventsSent: false } open) return;
                    open.EndOfStoredEventsSent = true;
                    started = open.Started;
                }
                connection.Reply(RelayFrames.EndOfStoredEvents(subscriptionId));
                connection.Metrics.EndOfStoredEvents(started);
                break;
            case DeliveryKind.Closed:
                lock (_open)
                {
                    if (OpenFor(delivery.SubscriptionId, out subscriptionId) is null) return;
                    _open.Remove(subscriptionId);
                }
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
            GatewaySubscription? subscription = null;
            try
            {
                if (_ended) break;
                ResumePoint? from;
                lock (_open)
                {
                    if (!_open.TryGetValue(id, out subscription)) continue;   // CLOSEd meanwhile
                    from = subscription.EndOfStoredEventsSent ? subscription.ResumeFrom(connection.Shard.ResumeAfter()) : null;
                }
                subscription.Registered = true;
                // A call made again (its gateway lost too) goes on from what the first one had sent meanwhile.
                var attempts = 0;
                await Calls.CallAsync(() =>
                {
                    var point = attempts++ == 0 ? from : ResumePointNow(id, subscription, from);
                    return point is null
                        ? Grain.SubscribeAsync(connection.Id, subscription.Key, subscription.Filters)
                        : Grain.ResumeAsync(connection.Id, subscription.Key, subscription.Filters, point);
                });
                registered++;
            }
            catch (Exception ex)
            {
                LostInFailover(id, subscription!, ex, "error: lost this subscription in a relay failover; REQ again with since");
            }
            finally
            {
                try { if (subscription is not null) await LetGoIfGoneAsync(id, subscription); }
                finally { _calls.Release(); }
            }
        }
        return registered;
    }

    /// <summary>
    /// Registers an open REQ whole again, unless its EOSE has come: called when its answer came from a grain activation
    /// the gateway had moved on from (<see cref="GatewayShard"/>), which is the only one that held it.
    /// </summary>
    public async Task RegisterAgainAsync(string key)
    {
        await _calls.WaitAsync();
        string subscriptionId = "";
        GatewaySubscription? subscription = null;
        try
        {
            if (_ended) return;
            lock (_open)
            {
                if ((subscription = OpenFor(key, out subscriptionId)) is null || subscription.EndOfStoredEventsSent) return;
            }
            LogRegisteredAgain(logger, subscriptionId);
            await Calls.CallAsync(() => Grain.SubscribeAsync(connection.Id, key, subscription.Filters));
        }
        catch (Exception ex)
        {
            LostInFailover(subscriptionId, subscription!, ex, "error: lost this subscription in a relay failover; REQ again");
        }
        finally
        {
            try { if (subscription is not null) await LetGoIfGoneAsync(subscriptionId, subscription); }
            finally { _calls.Release(); }
        }
    }

    /// <summary>A REQ the grain could not be given again: the client is told, unless it closed or replaced it meanwhile.</summary>
    private void LostInFailover(string subscriptionId, GatewaySubscription subscription, Exception ex, string reason)
    {
        LogSubscribeFailed(logger, ex, subscriptionId);
        bool known;
        lock (_open) known = Current(subscriptionId, subscription) && _open.Remove(subscriptionId);
        if (known) connection.Reply(RelayFrames.Closed(subscriptionId, reason));
    }

    /// <summary>
    /// Where an open subscription resumes from now: null while its EOSE has not gone out (registered whole again);
    /// <paramref name="fallback"/> once it is closed or replaced (the call waiting behind this one ends it on the grain).
    /// </summary>
    private ResumePoint? ResumePointNow(string subscriptionId, GatewaySubscription subscription, ResumePoint? fallback)
    {
        lock (_open)
        {
            if (!Current(subscriptionId, subscription)) return fallback;
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
    private void CloseSlow(string subscriptionId, GatewaySubscription subscription)
    {
        bool none;
        lock (_open)
        {
            if (!Current(subscriptionId, subscription)) return;
            _open.Remove(subscriptionId);
            none = _open.Count == 0;
        }
        LogSlowConsumer(logger, connection.Id, subscriptionId);
        connection.Reply(RelayFrames.Closed(subscriptionId, "error: this connection reads too slowly; subscription closed, REQ again with since"));
        connection.Metrics.SlowConsumerClosed();
        _ = UnsubscribeQuietlyAsync(subscription);
        if (none) connection.AllSubscriptionsClosedAsSlow();
    }

    private async Task UnsubscribeQuietlyAsync(GatewaySubscription subscription)
    {
        await _calls.WaitAsync();
        try { await UnsubscribeAsync(subscription); }
        finally { _calls.Release(); }
    }

    /// <summary>Takes a REQ off the grain, if it was given it and not taken off yet; called holding <see cref="_calls"/>.</summary>
    private Task UnsubscribeAsync(GatewaySubscription subscription)
    {
        if (!subscription.Registered) return Task.CompletedTask;
        subscription.Registered = false;
        return UnsubscribeAsync(subscription.Key);
    }

    private async Task UnsubscribeAsync(string key)
    {
        try { await Calls.CallAsync(() => Grain.UnsubscribeAsync(connection.Id, key)); }
        catch (Exception ex)
        {
            LogSubscribeFailed(logger, ex, key);
            // Left on the grain it would match on for nothing until the connection ends (which takes every REQ off): tried
            // again after the next REQ the grain takes. A few are kept; the connection's end covers the rest.
            if ((_orphans ??= []).Count < MaxOrphans) _orphans.Add(key);
        }
    }

    /// <summary>Keys whose unsubscribe failed (the cluster unreachable a moment): guarded by <see cref="_calls"/>.</summary>
    private List<string>? _orphans;
    private const int MaxOrphans = 64;

    private async Task RetryOrphansAsync()
    {
        if (_orphans is not { Count: > 0 } orphans) return;
        _orphans = null;
        foreach (var key in orphans) await UnsubscribeAsync(key);
    }

    [LoggerMessage(EventId = 403, Level = LogLevel.Warning, Message = "Subscription call for {SubscriptionId} failed")]
    private static partial void LogSubscribeFailed(ILogger logger, Exception ex, string subscriptionId);

    [LoggerMessage(EventId = 409, Level = LogLevel.Warning, Message = "Subscription {SubscriptionId} was answered by a subscription grain activation the gateway had moved on from; registering it again")]
    private static partial void LogRegisteredAgain(ILogger logger, string subscriptionId);

    [LoggerMessage(EventId = 404, Level = LogLevel.Information, Message = "Connection {ConnectionId} is too slow; closed subscription {SubscriptionId}")]
    private static partial void LogSlowConsumer(ILogger logger, long connectionId, string subscriptionId);
}
