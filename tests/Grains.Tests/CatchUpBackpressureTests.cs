using NostrRelay.Protocol;

namespace NostrRelay.Grains.Tests;

/// <summary>
/// A REQ's stored events are read page by page, and only while the connection has room: a gateway that reports the
/// connection backlogged stops the reading until it says the socket drained. What the relay holds for a client that
/// does not read stays near one page, not the whole answer.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class CatchUpBackpressureTests(ClusterFixture fixture)
{
    [Fact]
    public async Task a_backlogged_connection_gets_one_page_until_its_gateway_says_it_drained_then_the_rest_once_in_order()
    {
        var observer = new BackloggedObserver();
        var (shard, reference) = await fixture.AttachedShardAsync(observer);
        var (author, events) = await fixture.StoredNotesAsync(3_000);

        await shard.SubscribeAsync(1, "all", [new Filter { Authors = [author.Pubkey], Limit = 3_000 }]);
        // One page goes out, its receipt says the connection is behind, and nothing more until the gateway drains.
        var first = new List<Delivery>();
        while (await observer.Inner.NextOrNothingAsync(TimeSpan.FromSeconds(1)) is { } delivery) first.Add(delivery);

        observer.Behind = false;
        await shard.DrainedAsync(1, 1);
        var rest = await observer.Inner.UntilEndOfStoredEventsAsync("all");
        fixture.Client.DeleteObjectReference<IGatewayShardObserver>(reference);

        Assert.Equal(256, first.Count);   // one page in flight: the receipt for it paused the next
        var ids = first.Concat(rest).Where(d => d.Kind == DeliveryKind.Event).Select(d => d.Event!.Id).ToList();
        Assert.Equal(events.Reverse().Select(e => e.Id), ids);
        Assert.Equal(DeliveryKind.EndOfStoredEvents, rest[^1].Kind);
    }

    [Fact]
    public async Task a_late_drained_word_for_an_earlier_episode_does_not_end_the_pause_of_a_later_one()
    {
        var observer = new BackloggedObserver { Episode = 2 };
        var (shard, reference) = await fixture.AttachedShardAsync(observer);
        var (author, events) = await fixture.StoredNotesAsync(1_000);

        await shard.SubscribeAsync(1, "all", [new Filter { Authors = [author.Pubkey], Limit = 1_000 }]);
        var first = new List<Delivery>();
        while (await observer.Inner.NextOrNothingAsync(TimeSpan.FromSeconds(1)) is { } delivery) first.Add(delivery);
        await shard.DrainedAsync(1, 1);   // the drained word of episode 1, overtaken by episode 2's receipt
        var stillPaused = await observer.Inner.NothingWithinAsync(TimeSpan.FromSeconds(1));
        observer.Behind = false;
        await shard.DrainedAsync(1, 2);
        var rest = await observer.Inner.UntilEndOfStoredEventsAsync("all");
        fixture.Client.DeleteObjectReference<IGatewayShardObserver>(reference);

        Assert.Equal(256, first.Count);
        Assert.True(stillPaused, "an earlier episode's drained word ended the pause");
        Assert.Equal(events.Length, first.Concat(rest).Count(d => d.Kind == DeliveryKind.Event));
    }
}

/// <summary>When live fan-out gives up on a batch for a shard, the shard ends every subscription with CLOSED: no silent gap.</summary>
[Collection(ClusterCollection.Name)]
public sealed class LostLiveEventsTests(ClusterFixture fixture)
{
    [Fact]
    public async Task a_shard_told_it_lost_live_events_closes_every_subscription_with_the_reason()
    {
        var observer = new RecordingObserver();
        var (shard, reference) = await fixture.AttachedShardAsync(observer);
        var author = new Author();
        await shard.SubscribeAsync(1, "a", [new Filter { Authors = [author.Pubkey], Limit = 0 }]);
        await shard.SubscribeAsync(2, "b", [new Filter { Kinds = [1], Limit = 0 }]);
        for (var eose = 0; eose < 2;)
            if ((await observer.NextAsync()).Kind == DeliveryKind.EndOfStoredEvents) eose++;

        await shard.CloseAllAsync("error: lost; REQ again with since");
        var closed = new[] { await observer.NextAsync(), await observer.NextAsync() };
        await fixture.Client.GetGrain<IAuthorStreamGrain>(author.Pubkey).AppendAsync(author.Note("after"));
        var quiet = await observer.NothingWithinAsync(TimeSpan.FromMilliseconds(500));
        fixture.Client.DeleteObjectReference<IGatewayShardObserver>(reference);

        Assert.Equal([(1L, "a"), (2L, "b")], closed.Select(d => (d.ConnectionId, d.SubscriptionId)).Order());
        Assert.All(closed, d => Assert.Equal((DeliveryKind.Closed, "error: lost; REQ again with since"), (d.Kind, d.Message)));
        Assert.True(quiet, "a closed subscription still received a live event");
    }
}

internal static class ShardTestSetup
{
    /// <summary>A fresh shard grain with <paramref name="observer"/> attached as its gateway.</summary>
    public static async Task<(ISubscriptionGrain Shard, IGatewayShardObserver Reference)> AttachedShardAsync(this ClusterFixture fixture, IGatewayShardObserver observer)
    {
        var shard = fixture.Client.GetGrain<ISubscriptionGrain>($"test-{Guid.NewGuid():N}/0");
        var reference = fixture.Client.CreateObjectReference<IGatewayShardObserver>(observer);
        await shard.AttachAsync(reference);
        return (shard, reference);
    }

    /// <summary>A new author's <paramref name="count"/> notes, stored directly (one stream, versions in order).</summary>
    public static async Task<(Author Author, NostrEvent[] Events)> StoredNotesAsync(this ClusterFixture fixture, int count)
    {
        var author = new Author();
        var events = Enumerable.Range(0, count).Select(i => author.Note($"n{i}")).ToArray();
        for (var i = 0; i < events.Length; i++) await fixture.Store.SaveAsync(events[i], author.Pubkey, i);
        return (author, events);
    }
}
