using System.Net;
using Microsoft.Extensions.Logging.Abstractions;
using NostrRelay.Cluster.Interest;
using NostrRelay.Grains;
using NostrRelay.Protocol;
using Orleans.Runtime;

namespace NostrRelay.Grains.Tests.Interest;

/// <summary>
/// Routing by interest, piece by piece: what a silo announces for its REQs, what it sends another silo by what that
/// silo announced, and when a REQ may read the store.
/// </summary>
public sealed class InterestRoutingTests
{
    private static readonly Author Alice = new(), Bob = new(), Carol = new();

    [Fact]
    public void a_peer_that_announced_nothing_yet_is_sent_every_event_and_then_only_what_it_asked_for()
    {
        var peer = new PeerInterest();
        Assert.True(peer.Wants(Alice.Note("a")));

        Assert.Equal(1, peer.Apply([Whole(1, InterestKey.ForAuthor(Alice.Pubkey))]));
        Assert.True(peer.Wants(Alice.Note("a")));
        Assert.False(peer.Wants(Bob.Note("b")));
    }

    [Fact]
    public void each_kind_of_key_selects_its_events_and_everything_selects_all()
    {
        var peer = new PeerInterest();
        peer.Apply([Whole(1, InterestKey.ForKind(7), InterestKey.ForTag('p', Carol.Pubkey))]);
        Assert.True(peer.Wants(Bob.Note("like", kind: 7)));
        Assert.True(peer.Wants(Bob.Note("hi", tags: [["p", Carol.Pubkey]])));
        Assert.False(peer.Wants(Bob.Note("hi", tags: [["P", Carol.Pubkey]])));   // tag names are case-sensitive
        Assert.False(peer.Wants(Bob.Note("hi", tags: [["p", Alice.Pubkey]])));
        var note = Bob.Note("by id");
        Assert.False(peer.Wants(note));

        Assert.Equal(2, peer.Apply([new InterestUpdate(1, 2, [InterestKey.ForId(note.Id)], [InterestKey.ForKind(7)])]));
        Assert.True(peer.Wants(note));
        Assert.False(peer.Wants(Bob.Note("like", kind: 7)));

        Assert.Equal(3, peer.Apply([new InterestUpdate(2, 3, [InterestKey.Everything], [])]));
        Assert.True(peer.Wants(Alice.Note("anything", kind: 30_023)));
    }

    [Fact]
    public void a_change_seen_twice_is_applied_once_and_a_change_out_of_step_makes_the_peer_unknown_again()
    {
        var peer = new PeerInterest();
        var first = Whole(4, InterestKey.ForAuthor(Alice.Pubkey));
        var remove = new InterestUpdate(4, 5, [], [InterestKey.ForAuthor(Alice.Pubkey)]);
        Assert.Equal(5, peer.Apply([first, remove]));
        Assert.Equal(5, peer.Apply([first with { Base = 3, Generation = 4 }, remove]));   // a retried call: nothing re-added
        Assert.False(peer.Wants(Alice.Note("a")));

        Assert.Equal(-1, peer.Apply([new InterestUpdate(7, 8, [InterestKey.ForAuthor(Bob.Pubkey)], [])]));   // 6 and 7 never came
        Assert.True(peer.Wants(Carol.Note("c")));   // everything, until a whole summary
    }

    [Fact]
    public void an_event_committed_while_a_peers_new_keys_travelled_is_sent_to_it_when_they_arrive_and_never_twice()
    {
        var recent = new RecentEvents(TimeProvider.System);
        var peer = new PeerInterest(index: 0);
        var sent = new List<string>();
        void Send(SentEvent e) => sent.Add(e.Event.Event.Id);
        peer.Apply([Whole(1)], recent, Send, TimeSpan.Zero);   // known, and wanting nothing yet

        var alice = recent.Add(new LiveEvent(Alice.Note("committed while the key travelled", kind: 20_001), 0, 0), redriven: false);
        var bob = recent.Add(new LiveEvent(Bob.Note("not asked for yet"), 1, 1), redriven: false);
        Assert.False(peer.Route(alice, Send));
        Assert.False(peer.Route(bob, Send));

        peer.Apply([new InterestUpdate(1, 2, [InterestKey.ForAuthor(Alice.Pubkey)], [])], recent, Send, TimeSpan.Zero);
        Assert.Equal([alice.Event.Event.Id], sent);   // replayed: the new key names it and the peer did not have it
        Assert.False(peer.Route(alice, Send));   // its own routing, had it come after the replay, sends nothing more

        var later = recent.Add(new LiveEvent(Alice.Note("after"), 2, 2), redriven: false);
        Assert.True(peer.Route(later, Send));
        peer.Apply([new InterestUpdate(2, 3, [InterestKey.ForAuthor(Bob.Pubkey)], [])], recent, Send, TimeSpan.Zero);
        Assert.Equal([alice.Event.Event.Id, later.Event.Event.Id, bob.Event.Event.Id], sent);   // Alice's events not again

        var old = new RecentEvents(TimeProvider.System, window: TimeSpan.Zero, margin: TimeSpan.Zero);
        var stale = old.Add(new LiveEvent(Carol.Note("too old"), 1, 3), redriven: false);
        Thread.Sleep(5);
        peer.Apply([new InterestUpdate(3, 4, [InterestKey.ForAuthor(Carol.Pubkey)], [])], old, Send, TimeSpan.Zero);
        Assert.DoesNotContain(stale.Event.Event.Id, sent);   // past the window, only the store read has it
    }

    [Fact]
    public void a_whole_summary_overtaken_by_newer_changes_is_ignored_when_it_arrives_late()
    {
        var peer = new PeerInterest();
        var late = Whole(5, InterestKey.ForAuthor(Alice.Pubkey));
        Assert.Equal(6, peer.Apply([late, new InterestUpdate(5, 6, [InterestKey.ForAuthor(Bob.Pubkey)], [])]));   // the retry
        Assert.Equal(6, peer.Apply([late]));   // the first call, held up on the way
        Assert.True(peer.Wants(Bob.Note("b")));

        Assert.Equal(-1, peer.Apply([new InterestUpdate(8, 9, [], [])]));   // a gap: everything until a whole summary
        Assert.Equal(-1, peer.Apply([late]));   // not that old one
        Assert.Equal(9, peer.Apply([Whole(9, InterestKey.ForAuthor(Carol.Pubkey))]));
        Assert.False(peer.Wants(Bob.Note("b")));
    }

    [Fact]
    public void a_silo_that_does_not_route_by_interest_sends_every_peer_everything_and_waits_for_nobody()
    {
        var calls = 0;
        var interest = new SiloInterest((_, _, _, _) => { calls++; return Task.FromResult(0L); }, send => _ = send(), _ => Task.CompletedTask,
            NullLogger.Instance, routes: false) { Self = Silo(1) };
        interest.AddPeer(Silo(2));
        Assert.True(interest.WhenConfirmedAsync(interest.Add([new Filter { Authors = [Alice.Pubkey] }])).IsCompleted);
        Assert.Equal(0, calls);
        Assert.True(interest.Of(Silo(2)).Wants(Bob.Note("b")));
        Assert.Equal(4, interest.Apply(Silo(2), [Whole(4, InterestKey.ForAuthor(Carol.Pubkey))]));   // confirmed: it sends that peer everything
        Assert.True(interest.Of(Silo(2)).Wants(Bob.Note("b")));
    }

    [Fact]
    public void a_REQ_whose_filters_cannot_match_waits_for_nobody()
    {
        var interest = new SiloInterest((_, _, _, _) => new TaskCompletionSource<long>().Task, send => _ = send(), _ => Task.CompletedTask, NullLogger.Instance)
            { Self = Silo(1) };
        interest.AddPeer(Silo(2));   // never answers
        Assert.True(interest.WhenConfirmedAsync(interest.Add([new Filter { Authors = [] }])).IsCompleted);
        Assert.False(interest.WhenConfirmedAsync(interest.Add([new Filter { Kinds = [1] }])).IsCompleted);
    }

    [Fact]
    public void a_peer_that_fell_far_behind_is_sent_one_whole_summary_not_every_change()
    {
        var (interest, calls) = WithOnePeer();
        var authors = Enumerable.Range(0, 100).Select(_ => new Author().Pubkey).ToArray();
        foreach (var author in authors) interest.Add([new Filter { Authors = [author] }]);   // 100 changes queue behind the first call
        Inline(() => calls[0].Answer.SetResult(calls[0].Updates[^1].Generation));
        var next = Assert.Single(calls[1].Updates);
        Assert.True(next.IsWhole);
        Assert.Equal(100, next.Added.Length);
        Assert.Equal(100, next.Generation);
    }

    [Fact]
    public void a_key_is_announced_by_its_first_REQ_and_withdrawn_by_its_last()
    {
        var ledger = new InterestLedger();
        var first = ledger.Add([InterestKey.ForAuthor(Alice.Pubkey), InterestKey.ForAuthor(Bob.Pubkey)], out var needed);
        Assert.Equal(1, needed);
        Assert.Equal(2, first!.Added.Length);

        Assert.Null(ledger.Add([InterestKey.ForAuthor(Alice.Pubkey)], out var again));
        Assert.Equal(1, again);   // already announced, in generation 1

        var third = ledger.Add([InterestKey.ForAuthor(Alice.Pubkey), InterestKey.ForKind(1)], out var mixed);
        Assert.Equal(2, mixed);
        Assert.Equal([InterestKey.ForKind(1)], third!.Added);

        Assert.Null(ledger.Remove([InterestKey.ForAuthor(Alice.Pubkey)]));   // two REQs still hold Alice
        var gone = ledger.Remove([InterestKey.ForAuthor(Alice.Pubkey), InterestKey.ForAuthor(Bob.Pubkey)]);
        Assert.Equal([InterestKey.ForAuthor(Bob.Pubkey)], gone!.Removed);
        Assert.Equal(3, gone.Generation);
        Assert.Equal(2, ledger.Count);   // Alice (the third REQ) and kind 1
        Assert.Equal(-1, ledger.Whole().Base);
        Assert.Equal(3, ledger.Whole().Generation);
    }

    [Fact]
    public void a_filter_is_keyed_by_its_most_selective_condition()
    {
        var keys = new List<InterestKey>();
        InterestKeys.Collect(
        [
            new Filter { Authors = [Alice.Pubkey], Kinds = [1] },
            new Filter { Kinds = [3], Tags = [new TagFilter('p', [Bob.Pubkey])] },
            new Filter { Kinds = [0, 3] },
            new Filter { Ids = ["ab"], Authors = [Bob.Pubkey] },
            new Filter { Authors = [] },   // cannot match: no key
            new Filter { Since = 5 },
        ], keys);
        Assert.Equal(
        [
            InterestKey.ForAuthor(Alice.Pubkey), InterestKey.ForTag('p', Bob.Pubkey), InterestKey.ForKind(0), InterestKey.ForKind(3),
            InterestKey.ForId("ab"), InterestKey.Everything,
        ], keys);
    }

    [Fact]
    public async Task a_REQ_reads_the_store_only_once_every_peer_confirmed_its_keys_or_left()
    {
        var network = new List<(SiloAddress Peer, InterestUpdate[] Updates, TaskCompletionSource<long> Answer)>();
        var interest = new SiloInterest((_, peer, updates, _) =>
        {
            var answer = new TaskCompletionSource<long>();
            network.Add((peer, updates, answer));
            return answer.Task;
        }, send => _ = send(), _ => Task.CompletedTask, NullLogger.Instance) { Self = Silo(1) };

        Assert.True(interest.WhenConfirmedAsync(interest.Add([new Filter { Authors = [Alice.Pubkey] }])).IsCompleted);   // alone: nobody to ask

        interest.AddPeer(Silo(2));
        interest.AddPeer(Silo(3));
        Assert.Equal(2, network.Count);
        Assert.All(network, call => Assert.True(call.Updates[0].IsWhole));
        Assert.All(network, call => Assert.Equal([InterestKey.ForAuthor(Alice.Pubkey)], call.Updates[0].Added));

        var generation = interest.Add([new Filter { Authors = [Bob.Pubkey] }]);
        var confirmed = interest.WhenConfirmedAsync(generation);
        Assert.Equal(2, network.Count);   // one call at a time per peer: Bob's key waits behind the whole summary
        Inline(() => network[0].Answer.SetResult(network[0].Updates[^1].Generation));
        Assert.Equal(3, network.Count);
        Assert.Equal([InterestKey.ForAuthor(Bob.Pubkey)], network[2].Updates[0].Added);
        Inline(() => network[2].Answer.SetResult(generation));
        Assert.False(confirmed.IsCompleted);   // silo 3 has not answered

        interest.RemovePeer(Silo(3));
        await confirmed.WaitAsync(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public void a_peer_that_answers_out_of_step_is_sent_the_whole_summary_again()
    {
        var (interest, calls) = WithOnePeer();
        interest.Add([new Filter { Kinds = [1] }]);
        Inline(() => calls[0].Answer.SetResult(-1));   // it lost track
        Assert.Equal(2, calls.Count);
        Assert.True(calls[1].Updates[0].IsWhole);
        Assert.Equal([InterestKey.ForKind(1)], calls[1].Updates[0].Added);
        Assert.Single(calls[1].Updates);   // the queued change is part of the whole summary
    }

    [Fact]
    public void a_failed_call_is_sent_again_in_order()
    {
        var (interest, calls) = WithOnePeer();
        interest.Add([new Filter { Kinds = [1] }]);
        Inline(() => calls[0].Answer.SetException(new TimeoutException()));
        Assert.Equal(2, calls.Count);
        Assert.Equal(2, calls[1].Updates.Length);   // the whole summary again, then the change queued meanwhile
        Assert.True(calls[1].Updates[0].IsWhole);
    }

    /// <summary>Completes an answer with no synchronization context, so the send loop's continuation runs at once, as in a silo.</summary>
    internal static void Inline(Action complete)
    {
        var context = SynchronizationContext.Current;
        SynchronizationContext.SetSynchronizationContext(null);
        try { complete(); }
        finally { SynchronizationContext.SetSynchronizationContext(context); }
    }

    /// <summary>Silo 1 with one peer, silo 2, whose calls wait until the test answers them.</summary>
    private static (SiloInterest Interest, List<(InterestUpdate[] Updates, TaskCompletionSource<long> Answer)> Calls) WithOnePeer()
    {
        var calls = new List<(InterestUpdate[] Updates, TaskCompletionSource<long> Answer)>();
        var interest = new SiloInterest((_, _, updates, _) =>
        {
            var answer = new TaskCompletionSource<long>();
            calls.Add((updates, answer));
            return answer.Task;
        }, send => _ = send(), _ => Task.CompletedTask, NullLogger.Instance) { Self = Silo(1) };
        interest.AddPeer(Silo(2));
        return (interest, calls);
    }

    internal static SiloAddress Silo(int n) => SiloAddress.New(new IPEndPoint(IPAddress.Loopback, 11_000 + n), 1);

    private static InterestUpdate Whole(long generation, params InterestKey[] keys) => new(-1, generation, keys, []);
}
