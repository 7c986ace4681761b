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
        var shard = fixture.Client.GetGrain<ISubscriptionGrain>($"test-{Guid.NewGuid():N}/0");
        var reference = fixture.Client.CreateObjectReference<IGatewayShardObserver>(observer);
        await shard.AttachAsync(reference);
        var author = new Author();
        var events = Enumerable.Range(0, 3_000).Select(i => author.Note($"n{i}")).ToArray();
        for (var i = 0; i < events.Length; i++) await fixture.Store.SaveAsync(events[i], author.Pubkey, i);

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
}
