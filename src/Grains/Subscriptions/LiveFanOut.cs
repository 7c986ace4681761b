using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using NostrRelay.Cluster.Interest;
using NostrRelay.Grains;
using Orleans.Runtime;

namespace NostrRelay.Subscriptions;

/// <summary>
/// This silo's path from committed events to live subscribers. An event an author grain committed here goes
/// to every subscription shard on this silo and, once per silo, to each other silo's
/// <see cref="ISiloFanOutGrain"/> whose subscriptions may match it (<see cref="SiloInterest"/>), which hands it to
/// that silo's shards. One outbox per destination keeps
/// commit order and batches whatever queued up while the previous call was in flight, so a lone event leaves
/// at once and a burst leaves in few calls. Other silos are found through cluster membership.
/// </summary>
internal sealed partial class LiveFanOut(IGrainFactory grains, IServiceProvider services, SiloInterest interest, NostrRelay.Metrics.SiloMetrics metrics,
    ILogger<LiveFanOut> logger)
    : ILifecycleParticipant<ISiloLifecycle>
{
    private readonly ILogger _logger = logger;
    private readonly NostrRelay.Metrics.SiloMetrics _metrics = metrics;
    private readonly ConcurrentDictionary<string, Outbox> _shards = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<SiloAddress, Outbox> _silos = new();
    private volatile Outbox[] _shardSnapshot = [];
    private volatile Outbox[] _siloSnapshot = [];
    private readonly CancellationTokenSource _stopping = new();
    private Task _watching = Task.CompletedTask;
    private SiloAddress? _self;
    private IClusterMembershipService? _membership;
    private readonly RecentEvents _recent = new(TimeProvider.System);

    /// <summary>Recent events are remembered once another silo is known: a lone silo pays nothing for it.</summary>
    private volatile bool _recording;

    /// <summary>What this silo's subscriptions want from the other silos, and what each of them wants from this one.</summary>
    public SiloInterest Interest => interest;

    /// <summary>How many other silos this one sends live events to.</summary>
    public int PeerCount => _siloSnapshot.Length;

    /// <summary>Whether the shard's grain, on this silo, is receiving live events.</summary>
    public bool Serves(string shardKey) => _shards.ContainsKey(shardKey);

    /// <summary>Before the silo becomes active: an event committed on it must already reach the silos it knows.</summary>
    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(nameof(LiveFanOut), ServiceLifecycleStage.ApplicationServices, StartAsync, StopAsync);

    private Task StartAsync(CancellationToken cancellationToken)
    {
        _metrics.ObserveQueued(() =>
        {
            long queued = 0;
            foreach (var outbox in _shardSnapshot) queued += outbox.Queued;
            foreach (var outbox in _siloSnapshot) queued += outbox.Queued;
            return queued;
        });
        // Resolved here, not injected: a silo's membership service exists only once the silo runs.
        var membership = services.GetService(typeof(IClusterMembershipService)) as IClusterMembershipService;
        var self = (services.GetService(typeof(ILocalSiloDetails)) as ILocalSiloDetails)?.SiloAddress;
        if (membership is null || self is null) return Task.CompletedTask;
        interest.Self = self;
        _self = self;
        _membership = membership;
        // A silo of a configured cluster remembers recent events from the start: a peer may open REQs before this
        // silo's membership shows it.
        if ((services.GetService(typeof(Microsoft.Extensions.Configuration.IConfiguration)) as Microsoft.Extensions.Configuration.IConfiguration)?["Orleans:Clustering:ProviderType"] is { Length: > 0 })
            _recording = interest.Routes;
        Apply(membership.CurrentSnapshot, self);
        _watching = WatchMembershipAsync(membership, self, _stopping.Token);
        return Task.CompletedTask;
    }

    private async Task StopAsync(CancellationToken cancellationToken)
    {
        _stopping.Cancel();
        interest.Stop();
        try { await _watching; }
        catch (OperationCanceledException) { }
    }

    /// <summary>Follows membership for the silo's life; a failure restarts the watch, since without it live events stay here.</summary>
    private async Task WatchMembershipAsync(IClusterMembershipService membership, SiloAddress self, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await foreach (var snapshot in membership.MembershipUpdates.WithCancellation(cancellationToken))
                    Apply(snapshot, self);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                LogMembershipWatchFailed(_logger, ex);
                try { await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken); }
                catch (OperationCanceledException) { return; }
                Apply(membership.CurrentSnapshot, self);
            }
        }
    }

    private void Apply(ClusterMembershipSnapshot snapshot, SiloAddress self)
    {
        lock (_silos)
        {
            var changed = false;
            foreach (var (address, member) in snapshot.Members)
            {
                if (address.Equals(self)) continue;
                if (member.Status is SiloStatus.Active or SiloStatus.Joining or SiloStatus.Created) _recording = interest.Routes;
                if (member.Status == SiloStatus.Active)
                {
                    if (AddOutbox(address)) changed = true;
                    interest.AddPeer(address);   // told what this silo wants once it is active, not while it joins
                }
                else if (member.Status is SiloStatus.Dead or SiloStatus.ShuttingDown or SiloStatus.Stopping && _silos.TryRemove(address, out var gone))
                {
                    gone.Abandon();
                    interest.RemovePeer(address);
                    changed = true;
                    LogPeerRemoved(_logger, address.ToString(), member.Status.ToString());
                }
            }
            if (changed) _siloSnapshot = [.. _silos.Values];
        }
    }

    /// <summary>Under the lock on the silos: an outbox for the peer, sending it what it says it wants (everything until it says).</summary>
    private bool AddOutbox(SiloAddress address)
    {
        if (_silos.ContainsKey(address)) return false;
        var outbox = new Outbox(address.ToString(), grains.GetGrain<ISiloFanOutGrain>(address.ToParsableString()).PublishAsync, this, retryWhileMember: address,
            wants: interest.Of(address));
        if (!_silos.TryAdd(address, outbox)) return false;
        _siloSnapshot = [.. _silos.Values];
        LogPeerAdded(_logger, address.ToString());
        return true;
    }

    /// <summary>Called by a subscription grain when it activates: from now on it receives every live event.</summary>
    public void AddShard(string shardKey)
    {
        // Under a lock: two shards changing at once must not publish their snapshots in the wrong order.
        lock (_shards)
        {
            var shard = grains.GetGrain<ISubscriptionGrain>(shardKey);
            if (_shards.TryAdd(shardKey, new Outbox(shardKey, shard.PublishAsync, this, retryWhileMember: null,
                    lost: () => shard.CloseAllAsync("error: live events for this subscription were lost in the relay; REQ again with since"))))
                _shardSnapshot = [.. _shards.Values];
        }
    }

    public void RemoveShard(string shardKey)
    {
        lock (_shards)
        {
            if (!_shards.TryRemove(shardKey, out var gone)) return;
            gone.Abandon();
            _shardSnapshot = [.. _shards.Values];
        }
    }

    /// <summary>An event committed on this silo. Never blocks and never throws: the append has already committed.</summary>
    public void Publish(LiveEvent evt) => Enqueue(evt, redriven: false, toPeers: true);

    /// <summary>Events an author grain sends again from the store after a failover (see <see cref="EventBatch.Redriven"/>).</summary>
    public void Redrive(LiveEvent evt) => Enqueue(evt, redriven: true, toPeers: true);

    /// <summary>Events another silo committed: only this silo's shards still need them.</summary>
    public void PublishLocal(EventBatch batch)
    {
        foreach (var evt in batch.Events) Enqueue(evt, batch.Redriven, toPeers: false, batch.Replayed);
    }

    private void Enqueue(LiveEvent evt, bool redriven, bool toPeers, bool replayed = false)
    {
        var item = new QueuedEvent(evt, redriven, replayed);
        var shards = _shardSnapshot;
        for (var i = 0; i < shards.Length; i++) shards[i].Enqueue(item);
        if (!toPeers) return;
        // Remembered before the peers are read: a peer added meanwhile either is among them or has it replayed.
        var sent = _recording ? _recent.Add(evt, redriven) : null;
        var silos = _siloSnapshot;
        var skipped = 0;
        for (var i = 0; i < silos.Length; i++)
            if (!silos[i].Route(item, sent)) skipped++;
        if (skipped > 0) _metrics.NotSent(skipped);
    }

    private bool IsPeer(SiloAddress silo) => _silos.ContainsKey(silo);

    /// <summary>
    /// What another silo's subscriptions want, as it told this one. A silo that speaks is alive: if membership has not
    /// shown it active here yet, this silo sends it events now, by what it asked for, since its REQs count on them. It is
    /// told this silo's own interest only once membership shows it active (until then it sends this silo everything).
    /// One that membership shows leaving is answered −1 and sent nothing.
    /// </summary>
    public long InterestOf(SiloAddress from, InterestUpdate[] updates, TimeSpan waited)
    {
        if (_self is { } self && !from.Equals(self) && !_silos.ContainsKey(from) && _membership is { } membership)
        {
            lock (_silos)
            {
                var known = membership.CurrentSnapshot.Members.TryGetValue(from, out var member);
                // A silo leaving the cluster is sent nothing: it must not count on this silo for its REQs.
                if (known && member!.Status is not (SiloStatus.Active or SiloStatus.Joining or SiloStatus.Created)) return -1;
                _recording = interest.Routes;
                AddOutbox(from);
            }
        }
        return ApplyInterest(from, updates, waited);
    }

    /// <summary>
    /// Applies a peer's changes; recent events its new keys name go to its outbox, ahead of anything routed after. A silo
    /// this one has no outbox to (before it starts, or one that left) is answered −1: it must not count on this silo.
    /// </summary>
    private long ApplyInterest(SiloAddress from, InterestUpdate[] updates, TimeSpan waited) =>
        _silos.TryGetValue(from, out var outbox) ? interest.Apply(from, updates, _recent, outbox.Resend, waited) : -1;

    private readonly record struct QueuedEvent(LiveEvent Event, bool Redriven, bool Replayed = false);

    /// <summary>One destination's queue, drained by at most one sender at a time.</summary>
    private sealed class Outbox(string name, Func<EventBatch, Task> send, LiveFanOut owner, SiloAddress? retryWhileMember, Func<Task>? lost = null,
        PeerInterest? wants = null)
    {
        /// <summary>Pauses between tries of a batch to a local shard: a shard busy past the response timeout gets about 15 s more.</summary>
        private static readonly TimeSpan[] ShardRetries = [TimeSpan.FromMilliseconds(100), TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(5)];
        private const int MaxBatch = 512;
        /// <summary>Tens of seconds of a busy relay: a silo that cannot take it that long is declared dead before.</summary>
        private const long MaxQueuedBytes = 256L * 1024 * 1024;
        private readonly ConcurrentQueue<QueuedEvent> _queue = new();
        private int _pumping;
        private long _queuedBytes;
        private int _overflowing;
        /// <summary>Events were dropped for this destination; once it takes batches again, it is told so (local shards).</summary>
        private int _lost;
        private volatile bool _abandoned;

        /// <summary>Events waiting to be sent.</summary>
        public int Queued => _queue.Count;

        /// <summary>
        /// Sends a committed event to a peer silo if it may want it and did not have it replayed already; false when it
        /// was not sent. Without <paramref name="sent"/> (no other silo was known when it was committed) only the wants count.
        /// </summary>
        public bool Route(QueuedEvent item, SentEvent? sent)
        {
            if (wants is null) { Enqueue(item); return true; }
            if (sent is not null) return wants.Route(sent, _route ??= s => Enqueue(new QueuedEvent(s.Event, s.Redriven)));
            if (!wants.Wants(item.Event.Event)) return false;
            Enqueue(item);
            return true;
        }

        private Action<SentEvent>? _route;

        /// <summary>A recent event replayed to this peer: its new keys name it and it did not have it.</summary>
        public void Resend(SentEvent sent) => Enqueue(new QueuedEvent(sent.Event, sent.Redriven, Replayed: true));

        public void Enqueue(QueuedEvent item)
        {
            var size = item.Event.Event.Json.Length;
            if (Interlocked.Add(ref _queuedBytes, size) > MaxQueuedBytes)
            {
                Interlocked.Add(ref _queuedBytes, -size);
                if (Interlocked.Exchange(ref _overflowing, 1) == 0) LogOverflow(owner._logger, name);   // once per episode
                Volatile.Write(ref _lost, 1);
                if (Interlocked.CompareExchange(ref _pumping, 1, 0) == 0) _ = Task.Run(PumpAsync);   // tells of the loss even if nothing else comes
                return;
            }
            if (Volatile.Read(ref _overflowing) != 0) Volatile.Write(ref _overflowing, 0);
            _queue.Enqueue(item);
            if (Interlocked.CompareExchange(ref _pumping, 1, 0) == 0)
                _ = Task.Run(PumpAsync);   // off the author grain's scheduler: fan-out never delays the next append.
        }

        /// <summary>The destination left the cluster or deactivated: whatever is queued has nobody to reach.</summary>
        public void Abandon() => _abandoned = true;

        private async Task PumpAsync()
        {
            while (true)
            {
                if (_abandoned)
                {
                    while (_queue.TryDequeue(out var dropped)) Interlocked.Add(ref _queuedBytes, -dropped.Event.Event.Json.Length);
                }
                if (lost is not null && !_abandoned && Interlocked.Exchange(ref _lost, 0) == 1) await TellLostAsync(lost);
                var batch = TakeBatch();
                if (batch is null)
                {
                    Volatile.Write(ref _pumping, 0);
                    if (_queue.IsEmpty || Interlocked.CompareExchange(ref _pumping, 1, 0) != 0) return;
                    continue;
                }
                await SendAsync(batch);
            }
        }

        /// <summary>
        /// Never a silent gap: the shard closes its subscriptions, each client told to REQ again. Tried until it works
        /// while the shard is served (it may be the very shard that was too busy to take the batch).
        /// </summary>
        private async Task TellLostAsync(Func<Task> lost)
        {
            for (var attempt = 0; !_abandoned && !owner._stopping.IsCancellationRequested; attempt++)
            {
                try
                {
                    await lost();
                    return;
                }
                catch (Exception ex)
                {
                    if (attempt == 0) LogCloseAfterLossFailed(owner._logger, ex, name);
                    await Task.Delay(ShardRetries[Math.Min(attempt, ShardRetries.Length - 1)]);
                }
            }
        }

        /// <summary>Up to <see cref="MaxBatch"/> queued events of one kind (live or redriven), in order.</summary>
        private EventBatch? TakeBatch()
        {
            if (!_queue.TryPeek(out var first)) return null;
            var count = Math.Min(_queue.Count, MaxBatch);
            var events = new LiveEvent[count];
            var n = 0;
            long bytes = 0;
            while (n < count && _queue.TryPeek(out var next) && next.Redriven == first.Redriven && next.Replayed == first.Replayed && _queue.TryDequeue(out next))
            {
                events[n++] = next.Event;
                bytes += next.Event.Event.Json.Length;
            }
            Interlocked.Add(ref _queuedBytes, -bytes);
            if (n < count) Array.Resize(ref events, n);
            return new EventBatch(events, first.Redriven, first.Replayed);
        }

        private async Task SendAsync(EventBatch batch)
        {
            for (var attempt = 1; ; attempt++)
            {
                try
                {
                    await send(batch);
                    owner._metrics.Batch(retryWhileMember is null ? "shard" : "silo", batch.Events.Length);
                    return;
                }
                catch (Exception ex)
                {
                    // A peer silo that is still a member may be restarting a connection, or its inbox's directory
                    // entry may have died with another silo: keep the order and try again until membership says
                    // the peer is gone (the byte bound caps what waits).
                    if (retryWhileMember is { } silo && !_abandoned && owner.IsPeer(silo) && !owner._stopping.IsCancellationRequested)
                    {
                        if (attempt == 1) LogPeerRetry(owner._logger, ex, name, batch.Events.Length);
                        await Task.Delay(Math.Min(1000, 50 * attempt));
                        continue;
                    }
                    // A local shard that timed out is busy, not gone: the same batch again (it drops versions it
                    // already has). One that deactivated was abandoned and has nobody left to serve.
                    if (retryWhileMember is null && !_abandoned && attempt <= ShardRetries.Length && !owner._stopping.IsCancellationRequested)
                    {
                        if (attempt == 1) LogShardRetry(owner._logger, ex, name, batch.Events.Length);
                        await Task.Delay(ShardRetries[attempt - 1]);
                        continue;
                    }
                    LogPublishFailed(owner._logger, ex, name, batch.Events.Length);
                    if (!_abandoned && lost is not null) Volatile.Write(ref _lost, 1);   // told before the next batch
                    return;
                }
            }
        }
    }

    [LoggerMessage(EventId = 200, Level = LogLevel.Error, Message = "Live fan-out to {Destination} lost {Count} events")]
    private static partial void LogPublishFailed(ILogger logger, Exception ex, string destination, int count);

    [LoggerMessage(EventId = 201, Level = LogLevel.Warning, Message = "Live fan-out to silo {Destination} failed for {Count} events; retrying while it is a member")]
    private static partial void LogPeerRetry(ILogger logger, Exception ex, string destination, int count);

    [LoggerMessage(EventId = 206, Level = LogLevel.Warning, Message = "Live fan-out to shard {Destination} failed for {Count} events; retrying")]
    private static partial void LogShardRetry(ILogger logger, Exception ex, string destination, int count);

    [LoggerMessage(EventId = 207, Level = LogLevel.Error, Message = "Shard {Destination} lost live events and could not yet be told to close its subscriptions; trying again")]
    private static partial void LogCloseAfterLossFailed(ILogger logger, Exception ex, string destination);

    [LoggerMessage(EventId = 202, Level = LogLevel.Error, Message = "Live fan-out to {Destination} is full; dropping events")]
    private static partial void LogOverflow(ILogger logger, string destination);

    [LoggerMessage(EventId = 203, Level = LogLevel.Information, Message = "Live fan-out now reaches silo {Silo}")]
    private static partial void LogPeerAdded(ILogger logger, string silo);

    [LoggerMessage(EventId = 204, Level = LogLevel.Information, Message = "Live fan-out no longer reaches silo {Silo} ({Status})")]
    private static partial void LogPeerRemoved(ILogger logger, string silo, string status);

    [LoggerMessage(EventId = 205, Level = LogLevel.Error, Message = "Watching cluster membership failed; live events stay on this silo")]
    private static partial void LogMembershipWatchFailed(ILogger logger, Exception ex);
}
