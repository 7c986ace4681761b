using NostrRelay.Protocol;
using NostrRelay.Streams;

namespace NostrRelay.Grains.Tests;

/// <summary>
/// NIP-09 across a three-silo cluster: "Relays SHOULD delete or stop publishing any referenced events that have an
/// identical pubkey as the deletion request". A deletion request taken by its author's grain, on whichever silo that
/// grain lives, hides what it names from the stored events a REQ reads on every silo, and the named event is not
/// taken again, whichever silo it is sent through.
/// </summary>
[Collection(ThreeSiloCollection.Name)]
public sealed class ClusterDeletionTests(ThreeSiloClusterFixture fixture)
{
    [Fact]
    public async Task a_deletion_request_taken_on_one_silo_hides_the_event_from_reqs_on_every_silo()
    {
        var author = new Author();
        var doomed = author.Note("posted in haste");
        var kept = author.Note("still stands");
        var deletion = author.Note("posted by mistake", kind: 5, tags: [["e", doomed.Id], ["k", "1"]]);
        var stream = fixture.Client.GetGrain<IAuthorStreamGrain>(author.Pubkey);

        Assert.Equal(AppendStatus.Accepted, (await stream.AppendAsync(doomed)).Status);
        Assert.Equal(AppendStatus.Accepted, (await stream.AppendAsync(kept)).Status);
        Assert.Equal([kept.Id, doomed.Id], (await StoredOnAsync(0, new Filter { Authors = [author.Pubkey], Limit = 10 })).Select(e => e.Id));
        Assert.Equal(AppendStatus.Accepted, (await stream.AppendAsync(deletion)).Status);
        Assert.NotNull(await fixture.WhereIsAsync(stream));   // taken by one activation, on one of the three silos

        for (var silo = 0; silo < 3; silo++)   // a REQ on each silo: at least two of them away from the author's grain
            Assert.Equal([deletion.Id, kept.Id], (await StoredOnAsync(silo, new Filter { Authors = [author.Pubkey], Limit = 10 })).Select(e => e.Id));

        for (var silo = 0; silo < 3; silo++)
        {
            var again = await fixture.GrainsOn(silo).GetGrain<IAuthorStreamGrain>(author.Pubkey).AppendAsync(doomed);
            Assert.Equal((AppendStatus.Rejected, AuthorStreamGrain.DeletedMessage), (again.Status, again.Message));
        }
        Assert.Empty(await StoredOnAsync(2, new Filter { Ids = [doomed.Id], Limit = 10 }));
    }

    [Fact]
    public async Task an_a_tag_deletion_taken_on_one_silo_hides_the_address_versions_up_to_its_time_on_every_silo()
    {
        var author = new Author();
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var article = author.Note("draft", createdAt: now - 10, kind: 30023, tags: [["d", "post"]]);
        var other = author.Note("another article", createdAt: now - 10, kind: 30023, tags: [["d", "other"]]);
        var deletion = author.Note("", createdAt: now - 5, kind: 5, tags: [["a", $"30023:{author.Pubkey}:post"], ["k", "30023"]]);
        var stream = fixture.Client.GetGrain<IAuthorStreamGrain>(author.Pubkey);

        Assert.Equal(AppendStatus.Accepted, (await stream.AppendAsync(article)).Status);
        Assert.Equal(AppendStatus.Accepted, (await stream.AppendAsync(other)).Status);
        Assert.Equal(2, (await StoredOnAsync(1, new Filter { Authors = [author.Pubkey], Kinds = [30023], Limit = 10 })).Count);
        Assert.Equal(AppendStatus.Accepted, (await stream.AppendAsync(deletion)).Status);

        for (var silo = 0; silo < 3; silo++)   // only the named address is gone
            Assert.Equal([deletion.Id, other.Id], (await StoredOnAsync(silo, new Filter { Authors = [author.Pubkey], Limit = 10 })).Select(e => e.Id));

        // A version at the address up to the request's created_at is not taken again; a later one is.
        var again = await fixture.GrainsOn(1).GetGrain<IAuthorStreamGrain>(author.Pubkey).AppendAsync(article);
        Assert.Equal((AppendStatus.Rejected, AuthorStreamGrain.DeletedMessage), (again.Status, again.Message));
        var rewritten = author.Note("rewritten", createdAt: now, kind: 30023, tags: [["d", "post"]]);
        Assert.Equal(AppendStatus.Accepted, (await fixture.GrainsOn(2).GetGrain<IAuthorStreamGrain>(author.Pubkey).AppendAsync(rewritten)).Status);
        for (var silo = 0; silo < 3; silo++)
            Assert.Equal([rewritten.Id, other.Id], (await StoredOnAsync(silo, new Filter { Authors = [author.Pubkey], Kinds = [30023], Limit = 10 })).Select(e => e.Id));
    }

    /// <summary>The stored events a REQ gets (newest first) from a subscription shard activated on silo <paramref name="silo"/> (checked).</summary>
    private async Task<List<NostrEvent>> StoredOnAsync(int silo, Filter filter)
    {
        var observer = new RecordingObserver();
        var reference = fixture.Client.CreateObjectReference<IGatewayShardObserver>(observer);
        var shard = fixture.GrainsOn(silo).GetGrain<ISubscriptionGrain>($"deletion-{Guid.NewGuid():N}/{silo}");
        try
        {
            await shard.AttachAsync(reference);
            Assert.Equal(fixture.Cluster.Silos[silo].SiloAddress.ToString(), await fixture.WhereIsAsync(shard));
            await shard.SubscribeAsync(1, "req", [filter]);
            var deliveries = await observer.UntilEndOfStoredEventsAsync("req");
            await shard.DisconnectAsync(1);
            return [.. deliveries.Where(d => d.Kind == DeliveryKind.Event).Select(d => d.Event!)];
        }
        finally
        {
            fixture.Client.DeleteObjectReference<IGatewayShardObserver>(reference);
        }
    }
}
