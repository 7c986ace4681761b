using NostrRelay.Protocol;
using NostrRelay.Storage;

namespace NostrRelay.Grains.Tests;

/// <summary>
/// Re-driving fan-out from the store: an event committed whose fan-out never happened (its silo died between
/// the commit and the hand-over) reaches live subscribers when the author's grain activates again, once, and
/// a subscriber that got it with its stored events does not get it again.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class RedriveTests(ClusterFixture fixture)
{
    [Fact]
    public async Task a_new_activation_re_drives_recent_events_that_never_went_live()
    {
        var author = new Author();
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var earlier = new RecordingObserver();
        var earlierShard = await SubscribedShardAsync(earlier, author);
        Assert.Equal(DeliveryKind.EndOfStoredEvents, (await earlier.NextAsync()).Kind);

        // Committed as the author's grain would, but never handed to fan-out: its silo died right after.
        var lost = author.Note("committed, then the silo died", createdAt: now + 1);
        Assert.Equal(SaveOutcome.Saved, (await fixture.Store.SaveAsync(lost, author.Pubkey, 0)).Outcome);
        var later = new RecordingObserver();
        var laterShard = await SubscribedShardAsync(later, author);
        Assert.Equal(lost.Id, (await later.NextAsync()).Event!.Id);   // in its stored events
        Assert.Equal(DeliveryKind.EndOfStoredEvents, (await later.NextAsync()).Kind);

        var next = author.Note("the next one", createdAt: now + 2);
        Assert.Equal(2, (await fixture.Client.GetGrain<IAuthorStreamGrain>(author.Pubkey).AppendAsync(next)).Version);

        Assert.Equal([lost.Id, next.Id], [(await earlier.NextAsync()).Event!.Id, (await earlier.NextAsync()).Event!.Id]);
        Assert.Equal(next.Id, (await later.NextAsync()).Event!.Id);
        Assert.True(await earlier.NothingWithinAsync(TimeSpan.FromMilliseconds(300)));
        Assert.True(await later.NothingWithinAsync(TimeSpan.FromMilliseconds(300)));
        GC.KeepAlive((earlierShard, laterShard));
    }

    [Fact]
    public async Task old_events_are_not_re_driven()
    {
        var author = new Author();
        var observer = new RecordingObserver();
        await SubscribedShardAsync(observer, author);
        Assert.Equal(DeliveryKind.EndOfStoredEvents, (await observer.NextAsync()).Kind);
        var old = author.Note("an hour ago", createdAt: DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 3600);
        await fixture.Store.SaveAsync(old, author.Pubkey, 0);

        var next = author.Note("now", createdAt: DateTimeOffset.UtcNow.ToUnixTimeSeconds());
        await fixture.Client.GetGrain<IAuthorStreamGrain>(author.Pubkey).AppendAsync(next);

        Assert.Equal(next.Id, (await observer.NextAsync()).Event!.Id);
        Assert.True(await observer.NothingWithinAsync(TimeSpan.FromMilliseconds(300)));
    }

    private async Task<ISubscriptionGrain> SubscribedShardAsync(RecordingObserver observer, Author author)
    {
        var shard = fixture.Client.GetGrain<ISubscriptionGrain>($"redrive-{Guid.NewGuid():N}/0");
        await shard.AttachAsync(fixture.Client.CreateObjectReference<IGatewayShardObserver>(observer));
        await shard.SubscribeAsync(1, "sub", [new Filter { Authors = [author.Pubkey], Limit = 10 }]);
        return shard;
    }
}
