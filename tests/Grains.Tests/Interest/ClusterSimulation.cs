using Microsoft.Extensions.Logging.Abstractions;
using NostrRelay.Cluster.Interest;
using NostrRelay.Protocol;
using Orleans.Runtime;

namespace NostrRelay.Grains.Tests.Interest;

/// <summary>
/// Many silos' <see cref="SiloInterest"/>s in one thread, joined by a simulated network: every pair of silos has one
/// link for interest changes and one for events, each delivering in order (as an Orleans outbox awaiting one call at a
/// time does), while which link delivers next is random. Calls are lost, or applied with their answer lost; silos join,
/// learn of each other late, and die. It records what each silo received, to be checked against what its REQs needed.
/// </summary>
internal sealed class ClusterSimulation
{
    private readonly Random _random;
    private readonly List<Link> _pending = [];
    private readonly List<SimReq> _waiting = [];
    private readonly Dictionary<(int, int, bool), Link> _links = [];
    private readonly List<(long At, Action Act)> _timers = [];
    private readonly string[] _authors;
    private readonly string[] _tagValues;
    private static readonly int[] Kinds = [0, 1, 3, 6, 7, 1_111, 30_023];

    public ClusterSimulation(int seed, int silos)
    {
        _random = new Random(seed);
        _authors = [.. Enumerable.Range(0, 150).Select(_ => Hex())];
        _tagValues = [.. Enumerable.Range(0, 60).Select(_ => Hex())];
        Silos = [.. Enumerable.Range(0, silos).Select(i => new SimSilo(i, SiloAddress.New(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 20_000 + i), 1)))];
        var clock = new StepClock(this);
        foreach (var silo in Silos)
        {
            silo.Interest = new SiloInterest((self, peer, updates, waited) => Send(silo, Silos.First(s => s.Address.Equals(peer)), updates, waited),
                send => _ = send(), _ => Later(_random.Next(1, 30)), NullLogger.Instance, time: clock, reuseIndexAfter: TimeSpan.FromDays(1)) { Self = silo.Address };
            // No time limit here: the simulation's delays are steps, not milliseconds, and the logic is what is checked.
            silo.Recent = new RecentEvents(clock, capacity: 1 << 20, window: TimeSpan.FromDays(1), margin: TimeSpan.FromDays(1));
        }
    }

    public SimSilo[] Silos { get; }
    public List<SimReq> Reqs { get; } = [];
    public List<SimEvent> Events { get; } = [];
    public long Step { get; private set; }
    public long EventMessages { get; private set; }

    /// <summary>Events sent to a peer when committed, and sent to a peer later because its new keys named them.</summary>
    public long Routed { get; private set; }
    public long Replayed { get; private set; }
    public long PeersAtCommit { get; private set; }
    /// <summary>Times a silo learned of a peer from its interest before membership told it: the window that rule closes.</summary>
    public long PeersHeardFirst { get; private set; }

    /// <summary>Silo <paramref name="index"/> starts, knowing every live silo; each of those learns of it a little later.</summary>
    public void Start(int index)
    {
        var silo = Silos[index];
        silo.Alive = true;
        foreach (var other in Silos)
        {
            if (other == silo || !other.Alive) continue;
            Learn(silo, other);
            After(_random.Next(1, 6_000), () => { if (other.Alive && silo.Alive) Learn(other, silo); });
        }
    }

    /// <summary>A silo dies; the others declare it dead at different times, and its REQs are gone.</summary>
    public void Kill(int index)
    {
        var silo = Silos[index];
        silo.Alive = false;
        silo.DiedAt = Step;
        silo.Interest.Stop();   // a dead process sends nothing more
        foreach (var req in Reqs) if (req.Silo == silo && req.Closed is null) req.Closed = Step;
        foreach (var other in Silos)
        {
            if (other == silo || !other.Alive) continue;
            After(_random.Next(1, 300), () =>
            {
                other.View.Remove(silo);
                other.Interest.RemovePeer(silo.Address);
            });
        }
    }

    /// <summary>Each step: one REQ opened or closed or one event committed, then a few random calls delivered.</summary>
    public void Run(long steps, int reqWeight = 3, int closeWeight = 2, int eventWeight = 6, int deliveries = 30)
    {
        for (var i = 0; i < steps; i++)
        {
            Step++;
            RunTimers();
            var roll = _random.Next(reqWeight + closeWeight + eventWeight);
            if (roll < reqWeight) OpenReq(AliveSilo());
            else if ((roll -= reqWeight) < closeWeight) CloseReq();
            else Commit(AliveSilo(), RandomEvent());
            for (var d = _random.Next(deliveries * 2); d > 0; d--) DeliverOne();
            NoteLive();
        }
    }

    /// <summary>Delivers everything in flight and fires every timer, until the cluster is quiet.</summary>
    public void Drain()
    {
        var limit = Step + 2_000_000;
        while (_pending.Count > 0 || _timers.Count > 0)
        {
            if (++Step > limit) throw new InvalidOperationException($"still not quiet: {_pending.Count} links busy, {_timers.Count} timers");
            RunTimers(all: _pending.Count == 0);
            if (_pending.Count > 0) DeliverOne();
            NoteLive();
        }
    }

    public SimReq OpenReq(SimSilo silo, Filter[]? filters = null)
    {
        filters ??= RandomFilters();
        var generation = silo.Interest.Add(filters);
        var req = new SimReq(silo, filters, silo.Interest.WhenConfirmedAsync(generation), Step);
        Reqs.Add(req);
        _waiting.Add(req);
        NoteLive();
        return req;
    }

    public void CloseReq()
    {
        var open = Reqs.Where(r => r.Closed is null).ToList();
        if (open.Count == 0) return;
        var req = open[_random.Next(open.Count)];
        req.Closed = Step;
        req.Silo.Interest.Remove(req.Filters);
    }

    /// <summary>An event committed on a silo: its own shards have it at once; each peer in its view gets it if it may want it.</summary>
    public SimEvent Commit(SimSilo silo, NostrEvent evt)
    {
        var committed = new SimEvent(evt, silo, Step);
        Events.Add(committed);
        silo.Received.Add(evt.Id);
        var sent = silo.Recent.Add(new LiveEvent(evt, 0, 0), redriven: false);   // remembered before the peers are read, as LiveFanOut does
        foreach (var peer in silo.View)
        {
            PeersAtCommit++;
            if (silo.Interest.Of(peer.Address).Route(sent, s => { Routed++; Ship(silo, peer, s); })) committed.SentTo.Add(peer);
        }
        return committed;
    }

    private void Ship(SimSilo from, SimSilo to, SentEvent sent)
    {
        EventMessages++;
        var id = sent.Event.Event.Id;
        Enqueue(from.Index, to.Index, events: true, () => { if (to.Alive) to.Received.Add(id); });
    }

    public NostrEvent RandomEvent()
    {
        var tags = new List<string[]>();
        for (var i = _random.Next(4); i > 0; i--) tags.Add([_random.Next(2) == 0 ? "p" : "e", Pick(_tagValues)]);
        return new NostrEvent(Hex(), Pick(_authors), 1_700_000_000 + Step, Pick(Kinds), [.. tags], "", "", []);
    }

    public SimSilo AliveSilo()
    {
        while (true)
        {
            var silo = Silos[_random.Next(Silos.Length)];
            if (silo.Alive) return silo;
        }
    }

    private Filter[] RandomFilters()
    {
        var filters = new Filter[1 + _random.Next(2)];
        for (var i = 0; i < filters.Length; i++)
        {
            filters[i] = _random.Next(100) switch
            {
                < 70 => new Filter { Authors = [.. Enumerable.Range(0, 1 + _random.Next(10)).Select(_ => Pick(_authors))], Kinds = _random.Next(2) == 0 ? [1] : null },
                < 95 => new Filter { Tags = [new TagFilter(_random.Next(2) == 0 ? 'p' : 'e', [Pick(_tagValues), Pick(_tagValues)])], Kinds = [Pick(Kinds)] },
                < 99 => new Filter { Kinds = [_random.Next(2) == 0 ? 30_023 : 1_111] },
                _ => new Filter(),   // no key condition: everything
            };
        }
        return filters;
    }

    private Task<long> Send(SimSilo from, SimSilo to, InterestUpdate[] updates, TimeSpan waited)
    {
        var answer = new TaskCompletionSource<long>();
        Enqueue(from.Index, to.Index, events: false, () =>
        {
            if (!to.Alive || _random.Next(100) < 4)
            {
                answer.SetException(new TimeoutException("lost on the way"));
                return;
            }
            if (_random.Next(100) < 3)
            {
                // Held up on the way: the sender times out and retries, and this copy arrives later, after the retry.
                answer.SetException(new TimeoutException("held up"));
                After(_random.Next(1, 400), () => { if (to.Alive) Apply(to, from, updates, waited); });
                return;
            }
            if (!to.View.Contains(from) && from.Alive)
            {
                // A silo that speaks is sent events by what it asked for; it is told this silo's interest only once
                // membership shows it (LiveFanOut.InterestOf).
                PeersHeardFirst++;
                to.View.Add(from);
            }
            var held = Apply(to, from, updates, waited);
            if (_random.Next(100) < 4) answer.SetException(new TimeoutException("answer lost"));
            else answer.SetResult(held);
        });
        return answer.Task;
    }

    /// <summary>A peer's changes applied, with what it missed replayed to it when this silo sends to it (LiveFanOut.ApplyInterest).</summary>
    private long Apply(SimSilo to, SimSilo from, InterestUpdate[] updates, TimeSpan waited) =>
        to.View.Contains(from) ? to.Interest.Apply(from.Address, updates, to.Recent, s => { Replayed++; Ship(to, from, s); }, waited) : -1;

    /// <summary>Membership shows <paramref name="silo"/> its <paramref name="peer"/>: events go to it and it is told this silo's interest.</summary>
    private static void Learn(SimSilo silo, SimSilo peer)
    {
        silo.View.Add(peer);
        silo.Interest.AddPeer(peer.Address);
    }

    private void NoteLive()
    {
        for (var i = _waiting.Count - 1; i >= 0; i--)
        {
            if (!_waiting[i].Confirmed.IsCompleted) continue;
            _waiting[i].Live = Step;
            _waiting[i] = _waiting[^1];
            _waiting.RemoveAt(_waiting.Count - 1);
        }
    }

    private void Enqueue(int from, int to, bool events, Action deliver)
    {
        if (!_links.TryGetValue((from, to, events), out var link)) _links[(from, to, events)] = link = new Link();
        link.Queue.Enqueue(deliver);
        if (link.Queue.Count == 1)
        {
            link.Slot = _pending.Count;
            _pending.Add(link);
        }
    }

    private void DeliverOne()
    {
        if (_pending.Count == 0) return;
        var link = _pending[_random.Next(_pending.Count)];
        var deliver = link.Queue.Dequeue();
        if (link.Queue.Count == 0)
        {
            var last = _pending[^1];
            _pending[link.Slot] = last;
            last.Slot = link.Slot;
            _pending.RemoveAt(_pending.Count - 1);
        }
        Inline(deliver);
    }

    private Task Later(int steps)
    {
        var done = new TaskCompletionSource();
        After(steps, done.SetResult);
        return done.Task;
    }

    private void After(int steps, Action act) => _timers.Add((Step + steps, act));

    private void RunTimers(bool all = false)
    {
        for (var i = 0; i < _timers.Count; i++)
        {
            if (!all && _timers[i].At > Step) continue;
            var act = _timers[i].Act;
            _timers.RemoveAt(i--);
            Inline(act);
            if (all) return;   // one at a time while draining: what it starts gets delivered first
        }
    }

    private static void Inline(Action act) => InterestRoutingTests.Inline(act);

    private T Pick<T>(T[] values) => values[_random.Next(values.Length)];

    private string Hex()
    {
        Span<byte> bytes = stackalloc byte[32];
        _random.NextBytes(bytes);
        return Convert.ToHexStringLower(bytes);
    }

    /// <summary>One step is a millisecond.</summary>
    private sealed class StepClock(ClusterSimulation sim) : TimeProvider
    {
        public override long TimestampFrequency => 1000;
        public override long GetTimestamp() => sim.Step;
    }

    private sealed class Link
    {
        public Queue<Action> Queue { get; } = new();
        public int Slot { get; set; }
    }
}

internal sealed class SimSilo(int index, SiloAddress address)
{
    public int Index { get; } = index;
    public SiloAddress Address { get; } = address;
    public SiloInterest Interest { get; set; } = null!;
    public RecentEvents Recent { get; set; } = null!;
    public bool Alive { get; set; }
    public long? DiedAt { get; set; }
    /// <summary>The silos this one knows as members, which it sends events to.</summary>
    public HashSet<SimSilo> View { get; } = [];
    public HashSet<string> Received { get; } = new(StringComparer.Ordinal);
    public override string ToString() => $"silo {Index}";
}

internal sealed class SimReq(SimSilo silo, Filter[] filters, Task confirmed, long opened)
{
    public SimSilo Silo { get; } = silo;
    public Filter[] Filters { get; } = filters;
    public Task Confirmed { get; } = confirmed;
    public long Opened { get; } = opened;
    /// <summary>The step at which every peer had confirmed: the REQ reads the store then, and is live after.</summary>
    public long? Live { get; set; }
    public long? Closed { get; set; }

    public bool Matches(NostrEvent evt)
    {
        foreach (var filter in Filters) if (filter.Matches(evt)) return true;
        return false;
    }

    /// <summary>Whether one of the REQ's interest keys (not its whole filters) names the event.</summary>
    public bool KeyedFor(NostrEvent evt)
    {
        var keys = new List<InterestKey>();
        InterestKeys.Collect(Filters, keys);
        foreach (var key in keys)
        {
            var named = key.Kind switch
            {
                InterestKind.Everything => true,
                InterestKind.Id => key.Value == evt.Id,
                InterestKind.Author => key.Value == evt.Pubkey,
                InterestKind.Kind => key.Number == evt.Kind,
                _ => evt.Tags.Any(t => t.Length >= 2 && t[0] == key.Tag.ToString() && t[1] == key.Value),
            };
            if (named) return true;
        }
        return false;
    }
}

internal sealed class SimEvent(NostrEvent evt, SimSilo origin, long step)
{
    public NostrEvent Event { get; } = evt;
    public SimSilo Origin { get; } = origin;
    public long Step { get; } = step;
    public HashSet<SimSilo> SentTo { get; } = [];
}
