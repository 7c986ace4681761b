using Microsoft.Extensions.Logging;
using Orleans.Concurrency;
using Orleans.Placement;
using NostrRelay.Grains;
using NostrRelay.Protocol;
using NostrRelay.Storage;

namespace NostrRelay.Subscriptions;

/// <summary>
/// The live REQs of one gateway shard. Reentrant so that catch-up reads of the store interleave with
/// live matching; every state change happens between awaits, so no locks are needed. Always active:
/// its state is the shard's open subscriptions, which a quiet hour must not collect. Placed on the
/// silo of the gateway that first calls it, so a co-hosted gateway's deliveries never cross the network.
/// </summary>
[Reentrant]
[PreferLocalPlacement]
[CollectionAgeLimit(AlwaysActive = true)]
internal sealed partial class SubscriptionGrain(IEventStore store, LiveFanOut fanOut, CatchUpReads reads, TimeProvider time, ILogger<SubscriptionGrain> logger)
    : Grain, ISubscriptionGrain
{
    /// <summary>How long ids sent as stored events are remembered, to drop their late live echo.</summary>
    /// <remarks>As long as an author grain re-drives (60 s): a re-driven event a subscription got as stored is dropped by id.</remarks>
    internal static readonly TimeSpan HistoryEchoWindow = TimeSpan.FromSeconds(60);
    private const int MaxDeliveriesPerCall = 256;
    /// <summary>
    /// Live deliveries waiting for the gateway. Its connections bound what they queue for slow clients; this
    /// bounds what piles up here while the gateway itself does not take them (a stalled or cut-off process).
    /// </summary>
    internal const int MaxQueuedDeliveries = 65_536;
    private static readonly TimeSpan[] DeliveryRetries = [TimeSpan.FromMilliseconds(100), TimeSpan.FromMilliseconds(300), TimeSpan.FromMilliseconds(900)];

    /// <summary>Per filter: a resume covers seconds of outage, not the archive.</summary>
    private const int MaxResumedEvents = 5000;

    /// <summary>Stored events read per step of a catch-up, off the grain's turn (and at most <see cref="CatchUpRoomBytes"/> of them).</summary>
    private const int CatchUpPage = 256;

    /// <summary>A connection's next page of stored events is read only while less than this waits here for its gateway.</summary>
    internal const long CatchUpRoomBytes = 1024 * 1024;

    /// <summary>
    /// Bytes of live events this shard holds for one connection (waiting for the gateway, or buffered while a REQ
    /// reads stored events) before the subscription an event was for is closed. The gateway's own bound (16 MiB by
    /// default) applies after this one, to what its socket has not taken yet.
    /// </summary>
    internal const long MaxHeldBytesPerConnection = 16 * 1024 * 1024;

    /// <summary>
    /// Ids of stored events a subscription remembers, to drop a live echo of one (newest first: the events committed
    /// just before the REQ). 8 bytes each; a live copy of an older stored event is then possible, never a loss.
    /// </summary>
    private const int MaxRememberedHistory = 16_384;

    private readonly FilterIndex _index = new();
    private readonly Dictionary<long, ShardConnection> _connections = [];
    private readonly Queue<Queued> _outbox = new();
    /// <summary>Deliveries ever queued, and ever handed to the gateway: a catch-up reads its next page once its last one is handed on.</summary>
    private long _enqueued;
    private long _handed;
    private readonly List<(long Target, TaskCompletionSource Waiter)> _handedWaiters = [];
    private readonly List<LiveSubscription> _matches = [];
    private readonly AuthorVersions _versions = new();
    private readonly Guid _activation = Guid.NewGuid();
    private IGatewayShardObserver? _observer;
    private bool _serving;
    private bool _retired;
    private long _lastAttach;
    private bool _pumping;

    /// <summary>
    /// A gateway checks in every second or so; one silent this long has died or restarted under a new id,
    /// and this shard, kept always active, would otherwise match every live event for nobody, for ever.
    /// </summary>
    internal static readonly TimeSpan AbandonedAfter = TimeSpan.FromMinutes(2);

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _lastAttach = time.GetTimestamp();
        this.RegisterGrainTimer(RetireIfAbandonedAsync, new GrainTimerCreationOptions(AbandonedAfter / 4, AbandonedAfter / 4) { Interleave = true });
        return Task.CompletedTask;
    }

    private Task RetireIfAbandonedAsync(CancellationToken cancellationToken)
    {
        if (time.GetElapsedTime(_lastAttach) > AbandonedAfter)
        {
            LogAbandoned(logger, this.GetPrimaryKeyString());
            Retire();
        }
        return Task.CompletedTask;
    }

    /// <summary>
    /// Joins this silo's fan-out once a gateway uses the shard (attach or REQ), not on activation: a live event
    /// still on its way to a retired activation re-activates the grain, and that empty activation must not
    /// start receiving every event again.
    /// </summary>
    private void Serve()
    {
        if (_serving || _retired) return;
        _serving = true;
        fanOut.AddShard(this.GetPrimaryKeyString());
    }

    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        if (_serving) fanOut.RemoveShard(this.GetPrimaryKeyString());
        return Task.CompletedTask;
    }

    public Task<Guid> AttachAsync(IGatewayShardObserver observer)
    {
        _lastAttach = time.GetTimestamp();
        Serve();
        _observer = observer;
        StartPump();
        return Task.FromResult(_activation);
    }

    public Task SubscribeAsync(long connectionId, string subscriptionId, Filter[] filters) =>
        RegisterAsync(connectionId, subscriptionId, filters, resume: null);

    public Task ResumeAsync(long connectionId, string subscriptionId, Filter[] filters, ResumePoint from) =>
        RegisterAsync(connectionId, subscriptionId, filters, from);

    private Task RegisterAsync(long connectionId, string subscriptionId, Filter[] filters, ResumePoint? resume)
    {
        Serve();
        if (!_connections.TryGetValue(connectionId, out var connection))
            _connections[connectionId] = connection = new ShardConnection(connectionId);
        if (connection.Subscriptions.Remove(subscriptionId, out var replaced)) Drop(replaced);   // NIP-01: same id replaces.

        var subscription = new LiveSubscription(connection, subscriptionId, filters);
        connection.Subscriptions[subscriptionId] = subscription;
        // Registered live before the store is read: an event committed during the read is either in the
        // history or buffered here, never missed.
        _index.Add(subscription);
        connection.CatchUps.Enqueue((subscription, resume));
        if (!connection.CatchingUp)
        {
            connection.CatchingUp = true;
            _ = RunCatchUpsAsync(connection);
        }
        return Task.CompletedTask;
    }

    public Task UnsubscribeAsync(long connectionId, string subscriptionId)
    {
        Remove(connectionId, subscriptionId);
        return Task.CompletedTask;
    }

    private void Remove(long connectionId, string subscriptionId)
    {
        if (_connections.TryGetValue(connectionId, out var connection) && connection.Subscriptions.Remove(subscriptionId, out var subscription))
        {
            Drop(subscription);
            if (connection.Subscriptions.Count == 0 && !connection.CatchingUp) _connections.Remove(connectionId);
        }
    }

    public Task DisconnectAsync(long connectionId)
    {
        if (_connections.Remove(connectionId, out var connection))
        {
            foreach (var subscription in connection.Subscriptions.Values) Drop(subscription);
            connection.Subscriptions.Clear();
        }
        return Task.CompletedTask;
    }

    public Task PublishAsync(EventBatch batch)
    {
        if (!_serving)
        {
            // Re-activated only by events in flight to an activation that retired: nobody is here to serve.
            this.DeactivateOnIdle();
            return Task.CompletedTask;
        }
        var now = time.GetTimestamp();
        foreach (var live in batch.Events)
        {
            // Each author's events arrive in version order; one at or below the last seen is a repeat
            // (a re-driven event, or a retried batch) that this shard's subscribers already had.
            if (live.Version > 0 && !_versions.Advance(live.Author, live.Version, now)) continue;
            var evt = live.Event;
            long? idKey = null;   // parsed once per event, and only if a subscription remembers what it sent
            _matches.Clear();
            _index.Match(evt, _matches);
            foreach (var subscription in _matches)
            {
                var size = evt.Json.Length;
                if (subscription.Connection.HeldBytes + size > MaxHeldBytesPerConnection)
                {
                    Overflow(subscription, "error: this connection reads too slowly; subscription closed, REQ again with since");
                    continue;
                }
                if (subscription.CatchUpBuffer is { } buffer)
                {
                    buffer.Add(evt);
                    subscription.BufferedBytes += size;
                    subscription.Connection.BufferedBytes += size;
                    continue;
                }
                if (subscription.SentHistory is { } sent)
                {
                    // A live echo, or a re-driven event, of one sent with the stored events.
                    if (now > subscription.SentHistoryExpires) subscription.SentHistory = null;
                    else if (sent.Contains(idKey ??= ResumePoint.IdKey(evt.Id))) continue;
                }
                if (_outbox.Count >= MaxQueuedDeliveries)
                {
                    Overflow(subscription, "error: the relay could not hand this subscription's events on in time; REQ again with since");
                    continue;
                }
                Enqueue(subscription.Connection, Delivery.ForEvent(subscription.ConnectionId, subscription.SubscriptionId, evt), size);
            }
        }
        _matches.Clear();
        StartPump();
        return Task.CompletedTask;
    }

    public Task DrainedAsync(long connectionId, int episode)
    {
        if (_connections.TryGetValue(connectionId, out var connection)) connection.GatewayCaughtUp(episode);
        return Task.CompletedTask;
    }

    private void PauseCatchUps(Backlog[] backlogged)
    {
        var now = time.GetTimestamp();
        foreach (var backlog in backlogged)
            if (_connections.TryGetValue(backlog.ConnectionId, out var connection)) connection.GatewayBehind(backlog.Episode, now);
    }

    public Task CloseAllAsync(string reason)
    {
        foreach (var connection in _connections.Values.ToArray())   // closing the last REQ of a connection removes it
            foreach (var subscription in connection.Subscriptions.Values.ToArray()) Overflow(subscription, reason);
        StartPump();
        return Task.CompletedTask;
    }

    private void Drop(LiveSubscription subscription)
    {
        subscription.Active = false;
        subscription.CatchUpBuffer = null;
        subscription.Connection.BufferedBytes -= subscription.BufferedBytes;
        subscription.BufferedBytes = 0;
        subscription.Connection.Wake();   // a catch-up waiting for room finds it gone
        _index.Remove(subscription);
    }

    private void Enqueue(ShardConnection connection, Delivery delivery, int bytes)
    {
        connection.Queue(bytes);
        _outbox.Enqueue(new Queued(delivery, connection, bytes));
        _enqueued++;
    }

    private void Enqueue(Delivery delivery)
    {
        _outbox.Enqueue(new Queued(delivery, null, 0));
        _enqueued++;
    }

    /// <summary>Completes once every delivery queued so far has been handed to the gateway (or given up on).</summary>
    private Task HandedOnAsync()
    {
        if (_handed >= _enqueued) return Task.CompletedTask;
        var waiter = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _handedWaiters.Add((_enqueued, waiter));
        return waiter.Task;
    }

    private void Handed(int count)
    {
        _handed += count;
        for (var i = _handedWaiters.Count - 1; i >= 0; i--)
        {
            if (_handedWaiters[i].Target > _handed) continue;
            _handedWaiters[i].Waiter.TrySetResult();
            _handedWaiters.RemoveAt(i);
        }
    }

    /// <summary>A delivery waiting for the gateway, and the connection its bytes are charged to.</summary>
    private readonly record struct Queued(Delivery Delivery, ShardConnection? Connection, int Bytes);

    /// <summary>A connection's REQs read their stored events one after another, each as its turn comes.</summary>
    private async Task RunCatchUpsAsync(ShardConnection connection)
    {
        try
        {
            while (connection.CatchUps.TryDequeue(out var next))
            {
                if (!next.Subscription.Active) continue;
                await CatchUpAsync(next.Subscription, next.Resume);
            }
        }
        finally
        {
            connection.CatchingUp = false;
            if (connection.Subscriptions.Count == 0 && _connections.TryGetValue(connection.Id, out var current) && current == connection)
                _connections.Remove(connection.Id);
        }
    }

    /// <summary>
    /// Sends a REQ's stored events page by page, each page read off the grain's turn and only while the connection has
    /// room here (a client that does not read stops the reading, and its gateway closes the subscription), then EOSE
    /// and the live events buffered meanwhile. A resume reads what the client missed and sends it oldest first.
    /// </summary>
    private async Task CatchUpAsync(LiveSubscription subscription, ResumePoint? resume)
    {
        var connection = subscription.Connection;
        var remembered = new HashSet<long>();
        HashSet<long>? sentBefore = resume is { Sent.Length: > 0 } ? [.. resume.Sent] : null;
        try
        {
            await using var reader = new HistoryReader(store, resume is null ? subscription.Filters : ResumeFilters(subscription.Filters, resume));
            var page = new List<NostrEvent>(CatchUpPage);
            List<NostrEvent>? missed = resume is null ? null : [];
            while (true)
            {
                while (resume is null && subscription.Active && !connection.HasRoom(CatchUpRoomBytes, time))
                    await connection.WaitForRoomAsync(time);
                if (!subscription.Active) return;
                var more = await reads.ReadPageAsync(reader, page, CatchUpPage, CatchUpRoomBytes, CancellationToken.None);
                if (!subscription.Active) return;
                foreach (var evt in page)
                {
                    if (missed is not null) missed.Add(evt);
                    else Send(subscription, evt, remembered);
                }
                StartPump();
                if (!more) break;
                // One page in flight: the gateway's receipt for it says whether the connection is behind, before the next read.
                if (missed is null) await HandedOnAsync();
            }
            if (missed is not null)
            {
                // A resumed subscription sends what was missed oldest first, as live events would have come.
                for (var i = missed.Count - 1; i >= 0; i--)
                {
                    var evt = missed[i];
                    if (sentBefore is not null && sentBefore.Contains(ResumePoint.IdKey(evt.Id))) continue;   // the client had it
                    Send(subscription, evt, remembered);
                }
            }
        }
        catch (Exception ex)
        {
            LogCatchUpFailed(logger, ex, subscription.SubscriptionId);
            if (!subscription.Active) return;
            Remove(subscription.ConnectionId, subscription.SubscriptionId);
            Enqueue(Delivery.Closed(subscription.ConnectionId, subscription.SubscriptionId, "error: could not read stored events"));
            StartPump();
            return;
        }
        if (!subscription.Active) return;

        // From here to the end there is no await: EOSE and the buffered live events are queued as one step after
        // the stored events, so nothing live can slip in between.
        if (resume is null) Enqueue(Delivery.EndOfStoredEvents(subscription.ConnectionId, subscription.SubscriptionId));
        var buffered = subscription.CatchUpBuffer!;
        subscription.CatchUpBuffer = null;
        connection.BufferedBytes -= subscription.BufferedBytes;
        subscription.BufferedBytes = 0;
        foreach (var evt in buffered)
        {
            var key = ResumePoint.IdKey(evt.Id);
            if (remembered.Contains(key)) continue;
            if (sentBefore is not null && sentBefore.Contains(key)) continue;
            Enqueue(connection, Delivery.ForEvent(subscription.ConnectionId, subscription.SubscriptionId, evt), evt.Json.Length);
        }
        if (remembered.Count > 0 || sentBefore is not null)
        {
            // What the client has: the stored events just sent and, after a resume, what it had before. A live
            // echo or a re-driven copy of any of them is dropped.
            if (sentBefore is not null) remembered.UnionWith(sentBefore);
            subscription.SentHistory = remembered;
            subscription.SentHistoryExpires = time.GetTimestamp() + (long)(HistoryEchoWindow.TotalSeconds * time.TimestampFrequency);
        }
        StartPump();
    }

    private void Send(LiveSubscription subscription, NostrEvent evt, HashSet<long> remembered)
    {
        if (remembered.Count < MaxRememberedHistory) remembered.Add(ResumePoint.IdKey(evt.Id));
        Enqueue(subscription.Connection, Delivery.ForEvent(subscription.ConnectionId, subscription.SubscriptionId, evt), evt.Json.Length);
    }

    /// <summary>
    /// A resumed subscription reads only what came since the client's last event. The REQ's limits counted
    /// stored events before EOSE, which the client already had; a resume is capped on its own.
    /// </summary>
    private static Filter[] ResumeFilters(Filter[] filters, ResumePoint resume)
    {
        var resumed = new Filter[filters.Length];
        for (var i = 0; i < filters.Length; i++)
        {
            var filter = filters[i];
            resumed[i] = filter with { Since = filter.Since is { } since && since > resume.Since ? since : resume.Since, Limit = MaxResumedEvents };
        }
        return resumed;
    }

    private void StartPump()
    {
        if (_pumping || _observer is null || _outbox.Count == 0) return;
        _pumping = true;
        _ = PumpAsync();
    }

    /// <summary>
    /// Sends what is queued, one observer call at a time (that keeps the order), taking everything that
    /// queued up meanwhile into the next call. No timer: a lone event goes out at once.
    /// </summary>
    private async Task PumpAsync()
    {
        try
        {
            while (_outbox.Count > 0 && _observer is { } observer)
            {
                var count = Math.Min(_outbox.Count, MaxDeliveriesPerCall);
                var items = new Delivery[count];
                for (var i = 0; i < count; i++)
                {
                    var queued = _outbox.Dequeue();
                    items[i] = queued.Delivery;
                    // Handed on (or about to be): the gateway's own bound covers it from here.
                    queued.Connection?.Dequeue(queued.Bytes, CatchUpRoomBytes);
                }
                var batch = new DeliveryBatch(items, _activation);
                for (var attempt = 0; ; attempt++)
                {
                    try
                    {
                        var receipt = await observer.DeliverAsync(batch);
                        if (receipt.Backlogged is { } behind) PauseCatchUps(behind);
                        Handed(count);
                        if (!receipt.Accepted)
                        {
                            // The gateway resumed this shard in another activation: this one is a leftover.
                            LogSuperseded(logger, this.GetPrimaryKeyString());
                            Retire();
                            return;
                        }
                        break;
                    }
                    catch (Exception ex) when (attempt < DeliveryRetries.Length)
                    {
                        // A blip between silo and gateway: the same batch again keeps the order.
                        if (attempt == 0) LogDeliveryRetry(logger, ex, this.GetPrimaryKeyString(), count);
                        await Task.Delay(DeliveryRetries[attempt]);
                    }
                    catch (Exception ex)
                    {
                        // Never a silent hole: each subscription that lost events here is told to REQ again.
                        LogDeliveryFailed(logger, ex, this.GetPrimaryKeyString(), count);
                        Handed(count);   // given up on: nobody waits for them any longer
                        foreach (var lost in items)
                            if (lost.Kind == DeliveryKind.Event && Find(lost.ConnectionId, lost.SubscriptionId) is { } subscription)
                                Overflow(subscription, "error: events for this subscription were lost on the way to the gateway; REQ again with since");
                        break;
                    }
                }
            }
        }
        finally
        {
            _pumping = false;
        }
    }

    private LiveSubscription? Find(long connectionId, string subscriptionId) =>
        _connections.TryGetValue(connectionId, out var connection) && connection.Subscriptions.TryGetValue(subscriptionId, out var subscription) ? subscription : null;

    /// <summary>Ends a subscription that cannot be served whole, and says so with CLOSED (queued past the bound).</summary>
    private void Overflow(LiveSubscription subscription, string reason)
    {
        Remove(subscription.ConnectionId, subscription.SubscriptionId);
        Enqueue(Delivery.Closed(subscription.ConnectionId, subscription.SubscriptionId, reason));
    }

    /// <summary>Lets every subscription go and leaves: another activation serves this shard now, or nobody does.</summary>
    private void Retire()
    {
        _retired = true;
        if (_serving) fanOut.RemoveShard(this.GetPrimaryKeyString());
        _serving = false;
        foreach (var connection in _connections.Values)
        {
            foreach (var subscription in connection.Subscriptions.Values) Drop(subscription);
            connection.Subscriptions.Clear();
        }
        _connections.Clear();
        _outbox.Clear();
        Handed((int)(_enqueued - _handed));
        _observer = null;
        this.DeactivateOnIdle();
    }

    [LoggerMessage(EventId = 303, Level = LogLevel.Information, Message = "Shard {Shard} heard nothing from its gateway for a while; it retires")]
    private static partial void LogAbandoned(ILogger logger, string shard);

    [LoggerMessage(EventId = 302, Level = LogLevel.Warning, Message = "Shard {Shard} was resumed by its gateway in another activation; this one retires")]
    private static partial void LogSuperseded(ILogger logger, string shard);

    [LoggerMessage(EventId = 300, Level = LogLevel.Warning, Message = "Catch-up read failed for subscription {SubscriptionId}")]
    private static partial void LogCatchUpFailed(ILogger logger, Exception ex, string subscriptionId);

    [LoggerMessage(EventId = 304, Level = LogLevel.Warning, Message = "Shard {Shard} could not deliver {Count} frames to its gateway; retrying")]
    private static partial void LogDeliveryRetry(ILogger logger, Exception ex, string shard, int count);

    [LoggerMessage(EventId = 301, Level = LogLevel.Warning, Message = "Shard {Shard} could not deliver {Count} frames to its gateway; their subscriptions are closed")]
    private static partial void LogDeliveryFailed(ILogger logger, Exception ex, string shard, int count);
}
