using System.Collections.Concurrent;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Orleans.Runtime;
using NostrRelay.Grains;
using NostrRelay.Protocol;

namespace NostrRelay.Cluster.Interest;

/// <summary>
/// Routing live events by interest across a cluster. Outgoing: what this silo's subscriptions can match
/// (<see cref="InterestLedger"/>), announced to every peer in numbered changes, and a REQ goes live only once every
/// peer confirmed the change that covers it, so an event another silo commits after the REQ's stored events were
/// read is sent here. Incoming: what each peer announced (<see cref="PeerInterest"/>), which decides whether an event
/// committed here is sent to it; a peer whose summary has not arrived is sent everything.
/// </summary>
internal sealed partial class SiloInterest
{
    /// <summary>Changes queued for one peer past which the whole summary is sent instead.</summary>
    private const int MaxQueuedChanges = 64;

    private readonly Lock _gate = new();
    private readonly InterestLedger _ledger = new();
    private readonly Dictionary<SiloAddress, InterestChannel> _channels = [];
    private readonly ConcurrentDictionary<SiloAddress, PeerInterest> _peers = new();
    private readonly List<(long Generation, TaskCompletionSource Confirmed)> _waiters = [];
    private readonly List<InterestKey> _keys = [];
    private readonly Func<SiloAddress, SiloAddress, InterestUpdate[], TimeSpan, Task<long>> _send;
    private readonly TimeProvider _time;
    private readonly Queue<(int Index, long Freed)> _freeIndexes = new();
    private readonly TimeSpan _reuseIndexAfter;
    private int _nextIndex;
    private readonly Action<Func<Task>> _run;
    private readonly Func<int, Task> _pause;
    private readonly ILogger _logger;
    private bool _stopped;

    /// <param name="send">Delivers changes from this silo to a peer and answers the generation it then holds (see <see cref="ISiloFanOutGrain.InterestAsync"/>).</param>
    /// <param name="run">Starts a send loop (off the calling grain's turn).</param>
    /// <param name="pause">Waits before the given retry of a failed send.</param>
    /// <param name="routes">False: this silo announces nothing, waits for nobody and sends every peer every event, as
    /// silos did before routing by interest (<c>Relay:Cluster:RouteByInterest</c>, for a rolling upgrade from such a version).</param>
    public SiloInterest(Func<SiloAddress, SiloAddress, InterestUpdate[], TimeSpan, Task<long>> send, Action<Func<Task>> run, Func<int, Task> pause, ILogger logger,
        bool routes = true, TimeProvider? time = null, TimeSpan? reuseIndexAfter = null)
    {
        Routes = routes;
        _time = time ?? TimeProvider.System;
        _reuseIndexAfter = reuseIndexAfter ?? RecentEvents.DefaultWindow + RecentEvents.DefaultMargin;
        _send = send;
        _run = run;
        _pause = pause;
        _logger = logger;
    }

    /// <summary>In the cluster: Orleans sends the grain call. <c>Relay:Cluster:RouteByInterest</c> (default true) turns routing off.</summary>
    public static SiloInterest ForCluster(IServiceProvider services) => new(
        (self, peer, updates, waited) => SendWhenPlaceableAsync(services, self, peer, updates, waited),
        send => _ = Task.Run(send),
        attempt => Task.Delay(Math.Min(1000, 50 * attempt)),
        services.GetRequiredService<ILogger<SiloInterest>>(),
        services.GetService<IConfiguration>()?.GetValue("Relay:Cluster:RouteByInterest", true) ?? true);

    /// <summary>
    /// A silo membership has just shown active may not be in this silo's cluster manifest yet, and its inbox cannot be
    /// placed until it is (Orleans retries the placement and logs a warning each time): wait for it, up to 5 s.
    /// </summary>
    private static async Task<long> SendWhenPlaceableAsync(IServiceProvider services, SiloAddress self, SiloAddress peer, InterestUpdate[] updates, TimeSpan waited)
    {
        var manifest = services.GetService<IClusterManifestProvider>();
        for (var i = 0; manifest is not null && !manifest.Current.Silos.ContainsKey(peer) && i < 100; i++) await Task.Delay(50);
        return await services.GetRequiredService<IGrainFactory>().GetGrain<ISiloFanOutGrain>(peer.ToParsableString()).InterestAsync(self, updates, waited);
    }

    /// <summary>Whether this silo routes by interest; when not, every peer is sent every event.</summary>
    public bool Routes { get; }

    /// <summary>What a silo that does not route by interest holds for every peer: nothing known, so everything is sent.</summary>
    private static readonly PeerInterest Unrouted = new();

    /// <summary>This silo's address, which its peers know its changes by; set before the first peer is added.</summary>
    public SiloAddress? Self { get; set; }

    /// <summary>Counts a REQ's filters in; returns the generation every peer must confirm before the REQ reads the store.</summary>
    public long Add(Filter[] filters)
    {
        if (!Routes) return 0;
        List<InterestChannel>? start = null;
        long needed;
        lock (_gate)
        {
            _keys.Clear();
            InterestKeys.Collect(filters, _keys);
            var update = _ledger.Add(_keys, out needed);
            if (update is not null) start = Broadcast(update);
        }
        Start(start);
        return needed;
    }

    /// <summary>Counts a REQ's filters out, once, when it closes.</summary>
    public void Remove(Filter[] filters)
    {
        if (!Routes) return;
        List<InterestChannel>? start = null;
        lock (_gate)
        {
            _keys.Clear();
            InterestKeys.Collect(filters, _keys);
            var update = _ledger.Remove(_keys);
            if (update is not null) start = Broadcast(update);
        }
        Start(start);
    }

    /// <summary>Completes once every current peer confirmed <paramref name="generation"/>, or left the cluster.</summary>
    public Task WhenConfirmedAsync(long generation)
    {
        lock (_gate)
        {
            if (_stopped || generation <= 0 || generation <= LeastAcknowledged()) return Task.CompletedTask;   // 0: a REQ with no key
            var confirmed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add((generation, confirmed));
            return confirmed.Task;
        }
    }

    /// <summary>A silo joined: it is sent the whole summary, then every change.</summary>
    public void AddPeer(SiloAddress peer)
    {
        List<InterestChannel>? start = null;
        lock (_gate)
        {
            if (!Routes || _stopped || _channels.ContainsKey(peer)) return;
            var channel = new InterestChannel(peer);
            _channels.Add(peer, channel);
            if (channel.Enqueue(_ledger.Whole(), _time.GetTimestamp())) start = [channel];
        }
        Start(start);
    }

    /// <summary>A silo left: nothing more is sent to it, no REQ waits for it, and what it wanted is forgotten.</summary>
    public void RemovePeer(SiloAddress peer)
    {
        lock (_gate)
        {
            if (_channels.Remove(peer, out var channel)) channel.Closed = true;
            Release();
            if (_peers.TryRemove(peer, out var gone)) _freeIndexes.Enqueue((gone.Index, _time.GetTimestamp()));
        }
    }

    /// <summary>What a peer wants, as far as it told this silo; shared with the outbox that sends to it.</summary>
    public PeerInterest Of(SiloAddress peer)
    {
        if (!Routes) return Unrouted;
        if (_peers.TryGetValue(peer, out var known)) return known;
        lock (_gate)
        {
            if (_peers.TryGetValue(peer, out known)) return known;
            // A small index marks which peers each recent event went to. A departed peer's index is reused only once no
            // recent event can carry its marks, or its successor would be taken to have had those events.
            var reuse = _freeIndexes.TryPeek(out var free) && _time.GetElapsedTime(free.Freed) > _reuseIndexAfter;
            var created = new PeerInterest(reuse ? _freeIndexes.Dequeue().Index : _nextIndex++);
            _peers[peer] = created;
            return created;
        }
    }

    /// <summary>
    /// Changes a peer sent; answers the generation now held for it (−1 after a gap). Recent events the new keys name and
    /// the peer did not have go to <paramref name="resend"/>. A silo that does not route confirms whatever it is sent: it
    /// sends that peer every event anyway.
    /// </summary>
    public long Apply(SiloAddress from, InterestUpdate[] updates, RecentEvents? recent = null, Action<SentEvent>? resend = null, TimeSpan waited = default) =>
        Routes ? Of(from).Apply(updates, recent, resend, waited) : updates.Length == 0 ? -1 : updates[^1].Generation;

    /// <summary>Whether this silo holds what the peer wants (it has an outbox to it, or had).</summary>
    public bool Knows(SiloAddress peer) => _peers.ContainsKey(peer);

    /// <summary>The silo stops: sends stop and no REQ waits any more.</summary>
    public void Stop()
    {
        lock (_gate)
        {
            _stopped = true;
            foreach (var channel in _channels.Values) channel.Closed = true;
            _channels.Clear();
            Release();
        }
    }

    private List<InterestChannel>? Broadcast(InterestUpdate update)
    {
        List<InterestChannel>? start = null;
        var now = _time.GetTimestamp();
        foreach (var channel in _channels.Values)
            if (channel.Enqueue(update, now)) (start ??= []).Add(channel);
        return start;
    }

    private void Start(List<InterestChannel>? channels)
    {
        if (channels is null) return;
        foreach (var channel in channels) _run(() => PumpAsync(channel));
    }

    private long LeastAcknowledged()
    {
        var least = long.MaxValue;
        foreach (var channel in _channels.Values)
            if (channel.Acknowledged < least) least = channel.Acknowledged;
        return least;
    }

    /// <summary>Under the lock: lets go of every REQ whose generation all peers now hold.</summary>
    private void Release()
    {
        if (_waiters.Count == 0) return;
        var least = _stopped ? long.MaxValue : LeastAcknowledged();
        _waiters.RemoveAll(waiter =>
        {
            if (waiter.Generation > least) return false;
            waiter.Confirmed.TrySetResult();
            return true;
        });
    }

    /// <summary>Sends a channel's changes one call at a time until none is pending; a failed call is tried again while the peer is a member.</summary>
    private async Task PumpAsync(InterestChannel channel)
    {
        for (var failures = 0; ;)
        {
            InterestUpdate[] batch;
            var waited = TimeSpan.Zero;
            long firstQueued = 0;
            lock (_gate)
            {
                if (channel.Closed || channel.Pending.Count == 0)
                {
                    channel.Pumping = false;
                    return;
                }
                // Many changes queued (a peer that did not answer for a while): the whole summary says it in one.
                if (channel.Pending.Count > MaxQueuedChanges)
                {
                    var oldest = channel.Pending.Peek().Queued;
                    channel.Pending.Clear();
                    channel.Pending.Enqueue((_ledger.Whole(), oldest));
                }
                batch = new InterestUpdate[channel.Pending.Count];
                var i = 0;
                foreach (var (update, queued) in channel.Pending)
                {
                    if (i == 0)
                    {
                        firstQueued = queued;
                        waited = _time.GetElapsedTime(queued);
                    }
                    batch[i++] = update;
                }
            }
            long answer;
            try
            {
                answer = await _send(Self!, channel.Peer, batch, waited).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                if (failures++ == 0) LogSendFailed(_logger, ex, channel.Peer.ToString());
                try { await _pause(failures).ConfigureAwait(false); }
                catch (Exception) { }
                continue;
            }
            var inStep = true;
            lock (_gate)
            {
                if (channel.Closed) continue;
                for (var i = 0; i < batch.Length; i++) channel.Pending.Dequeue();
                if (answer == batch[^1].Generation)
                {
                    channel.Acknowledged = answer;
                    Release();
                }
                else
                {
                    // The peer lost track (a change did not follow on), or will not send to this silo (it is leaving):
                    // it sends everything, or nothing that matters, until the whole summary lands.
                    // Queued as old as the rejected batch: the replay there reaches back to when its first change was made.
                    inStep = false;
                    channel.Pending.Clear();
                    channel.Pending.Enqueue((_ledger.Whole(), firstQueued));
                }
            }
            if (inStep)
            {
                failures = 0;
                continue;
            }
            if (failures++ == 0) LogResync(_logger, channel.Peer.ToString(), answer);
            try { await _pause(failures).ConfigureAwait(false); }
            catch (Exception) { }
        }
    }

    [LoggerMessage(EventId = 210, Level = LogLevel.Warning, Message = "Telling silo {Peer} what this silo's subscriptions want failed; retrying while it is a member")]
    private static partial void LogSendFailed(ILogger logger, Exception ex, string peer);

    [LoggerMessage(EventId = 211, Level = LogLevel.Warning, Message = "Silo {Peer} answered generation {Answer} out of step; sending it the whole summary")]
    private static partial void LogResync(ILogger logger, string peer, long answer);
}
