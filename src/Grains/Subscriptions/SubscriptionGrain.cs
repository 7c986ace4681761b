using Microsoft.Extensions.Options;
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
internal sealed partial class SubscriptionGrain(IEventStore store, LiveFanOut fanOut, CatchUpReads reads, ResumeLog resumeLog, TimeProvider time,
    NostrRelay.Metrics.SiloMetrics metrics, IOptions<LiveDeliveryOptions> liveDelivery, LocalShardObservers localObservers, ILogger<SubscriptionGrain> logger)
    : Grain, ISubscriptionGrain
{
    /// <summary>How long ids sent as stored events are remembered, to drop their late live echo.</summary>
    /// <remarks>As long as an author grain re-drives (60 s): a re-driven event a subscription got as stored is dropped by id.</remarks>
    internal static readonly TimeSpan HistoryEchoWindow = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Bytes of live events this shard holds for one connection (waiting for the gateway, or buffered while a REQ
    /// reads stored events) before the subscription an event was for is closed. The gateway's own bound (16 MiB by
    /// default) applies after this one, to what its socket has not taken yet.
    /// </summary>
    internal const long MaxHeldBytesPerConnection = 16 * 1024 * 1024;

    private readonly FilterIndex _index = new();

    private readonly Dictionary<long, ShardConnection> _connections = [];

    private readonly List<LiveSubscription> _matches = [];

    private readonly AuthorVersions _versions = new();

    private readonly Guid _activation = Guid.NewGuid();

    private IGatewayShardObserver? _observer;

    private bool _serving;

    private bool _retired;

    private long _lastAttach;

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
        resumeLog.ReleaseIfIdle(AbandonedAfter / 4);
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
        EndGathering();   // what waits for the gather window goes while the gateway can still take it
        if (_serving) fanOut.RemoveShard(this.GetPrimaryKeyString());
        foreach (var connection in _connections.Values)
            foreach (var subscription in connection.Subscriptions.Values) Drop(subscription);   // this silo's interest forgets them
        return Task.CompletedTask;
    }

    public Task<Guid> AttachAsync(IGatewayShardObserver observer)
    {
        _lastAttach = time.GetTimestamp();
        Serve();
        _observer = observer;
        // With nothing queued, the check-in still tells the gateway how far this activation has matched, when that moved.
        if (_outbox.Count == 0 && !_pumping && ThroughAfter(_enqueued) > _reportedThrough) _reportDue = true;
        StartPump(live: true);   // a check-in queues nothing: what waits keeps to its gather window, if one is set
        return Task.FromResult(_activation);
    }

    public Task SubscribeAsync(long connectionId, string subscriptionId, Filter[] filters) =>
        RegisterAsync(connectionId, subscriptionId, filters, resume: null);

    public Task ResumeAsync(long connectionId, string subscriptionId, Filter[] filters, ResumePoint from) =>
        RegisterAsync(connectionId, subscriptionId, filters, from);

    private Task RegisterAsync(long connectionId, string subscriptionId, Filter[] filters, ResumePoint? resume)
    {
        // Retired, this activation hands nothing on: a REQ registered here would never be answered. The call fails, and
        // the gateway answers the client (or registers it again) rather than leave it waiting.
        if (_retired) return Task.FromException(new InvalidOperationException($"subscription shard {this.GetPrimaryKeyString()} has retired; its gateway serves it from another activation"));
        Serve();
        if (!_connections.TryGetValue(connectionId, out var connection))
            _connections[connectionId] = connection = new ShardConnection(connectionId);
        var subscription = new LiveSubscription(connection, subscriptionId, filters) { Registered = time.GetTimestamp() };
        // Counted in before a replaced REQ is counted out: a REQ sent again with the same keys does not withdraw them.
        subscription.Announced = fanOut.Interest.Add(filters);
        subscription.Interested = true;
        if (connection.Subscriptions.Remove(subscriptionId, out var replaced)) Drop(replaced);   // NIP-01: same id replaces.

        connection.Subscriptions[subscriptionId] = subscription;
        // Registered live before the store is read: an event committed during the read is either in the
        // history or buffered here, never missed. Other silos send events here by this silo's interest, so the
        // read also waits until they all confirmed the REQ's keys (see CatchUpAsync).
        _index.Add(subscription);
        CatchUpStarted(subscription, resume is null ? null : resume.AfterPosition, replacing: replaced is not null);
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
        Forget(connectionId);
        return Task.CompletedTask;
    }

    /// <summary>Lets go of every REQ of a connection that ended (disconnected, or unknown to the gateway).</summary>
    private void Forget(long connectionId)
    {
        if (!_connections.Remove(connectionId, out var connection)) return;
        foreach (var subscription in connection.Subscriptions.Values) Drop(subscription);
        connection.Subscriptions.Clear();
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
        var unixNow = time.GetUtcNow().ToUnixTimeSeconds();
        var closed = false;   // a CLOSED queued here does not wait for a gather window
        long through = 0;
        foreach (var live in batch.Events)
        {
            if (live.Position > through) through = live.Position;
            // Each author's events arrive in version order; one at or below the last seen is a repeat
            // (a re-driven event, or a retried batch) that this shard's subscribers already had.
            // A replayed event (batch.Replayed) never reached this silo from its sender, but a later one of its author may have.
            if (live.Version > 0 && !_versions.Advance(live.Author, live.Version, now) && !batch.Replayed) continue;
            var evt = live.Event;
            if (evt.IsExpiredAt(unixNow)) continue;   // NIP-40: a re-driven event can arrive after its time
            long? idKey = null;   // parsed once per event, and only if a subscription remembers what it sent
            _matches.Clear();
            _index.Match(evt, _matches);
            foreach (var subscription in _matches)
            {
                var size = evt.Json.Length;
                if (subscription.Connection.HeldBytes + size > MaxHeldBytesPerConnection)
                {
                    Overflow(subscription, "error: this connection reads too slowly; subscription closed, REQ again with since");
                    closed = true;
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
                    else if (evt.CreatedAt <= subscription.SentHistoryNewest && sent.Contains(idKey ??= ResumePoint.IdKey(evt.Id))) continue;
                }
                if (_outbox.Count >= MaxQueuedDeliveries)
                {
                    Overflow(subscription, "error: the relay could not hand this subscription's events on in time; REQ again with since");
                    closed = true;
                    continue;
                }
                Enqueue(subscription, Delivery.ForEvent(subscription.ConnectionId, subscription.SubscriptionId, evt), size);
            }
        }
        _matches.Clear();
        Matched(through);
        StartPump(live: !closed);
        return Task.CompletedTask;
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
        CatchUpEnded(subscription);
        subscription.CatchUpBuffer = null;
        subscription.Connection.BufferedBytes -= subscription.BufferedBytes;
        subscription.BufferedBytes = 0;
        subscription.Connection.Wake();   // a catch-up waiting for room finds it gone
        _index.Remove(subscription);
        if (subscription.Interested)
        {
            subscription.Interested = false;
            fanOut.Interest.Remove(subscription.Filters);
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
        Handed((int)(_enqueued - _handed), delivered: false);
        _observer = null;
        this.DeactivateOnIdle();
    }

    [LoggerMessage(EventId = 303, Level = LogLevel.Information, Message = "Shard {Shard} heard nothing from its gateway for a while; it retires")]
    private static partial void LogAbandoned(ILogger logger, string shard);

    [LoggerMessage(EventId = 302, Level = LogLevel.Warning, Message = "Shard {Shard} was resumed by its gateway in another activation; this one retires")]
    private static partial void LogSuperseded(ILogger logger, string shard);
}
