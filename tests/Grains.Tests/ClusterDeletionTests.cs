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

    /// <summary>
    /// NIP-62: "Relays MUST fully delete any events from the .pubkey" and "MUST ensure the deleted events cannot be
    /// re-broadcasted". The request is taken on one silo; after its grain is collected, a new activation (on any silo)
    /// still refuses the older events, and a gift wrap dated before it for the vanished pubkey is refused too.
    /// </summary>
    [Fact]
    public async Task a_request_to_vanish_removes_everything_before_it_and_stays_in_force_after_the_grain_is_collected()
    {
        var author = new Author();
        var sender = new Author();
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var notes = Enumerable.Range(0, 5).Select(i => author.Note($"note {i}", createdAt: now - 100 + i)).ToList();
        var profile = author.Note("""{"name":"soon gone"}""", createdAt: now - 50, kind: 0);
        var wrap = sender.Note("sealed", createdAt: now - 40, kind: 1059, tags: [["p", author.Pubkey]]);
        var request = author.Note("please forget me", createdAt: now - 10, kind: Vanishing.Kind, tags: [["relay", "ALL_RELAYS"]]);
        var stream = fixture.GrainsOn(0).GetGrain<IAuthorStreamGrain>(author.Pubkey);
        foreach (var note in notes) Assert.Equal(AppendStatus.Accepted, (await stream.AppendAsync(note)).Status);
        Assert.Equal(AppendStatus.Accepted, (await stream.AppendAsync(profile)).Status);
        Assert.Equal(AppendStatus.Accepted, (await fixture.Client.GetGrain<IAuthorStreamGrain>(sender.Pubkey).AppendAsync(wrap)).Status);

        Assert.Equal(AppendStatus.Accepted, (await stream.AppendAsync(request)).Status);
        await fixture.Client.GetGrain<IManagementGrain>(0).ForceActivationCollection(TimeSpan.Zero);

        for (var silo = 0; silo < 3; silo++)
        {
            Assert.Equal([request.Id], (await StoredOnAsync(silo, new Filter { Authors = [author.Pubkey], Limit = 10 })).Select(e => e.Id));
            Assert.Empty(await StoredOnAsync(silo, new Filter { Kinds = [1059], Tags = [new TagFilter('p', [author.Pubkey])], Limit = 10 }));
        }
        var again = await fixture.GrainsOn(2).GetGrain<IAuthorStreamGrain>(author.Pubkey).AppendAsync(notes[0]);
        Assert.Equal((AppendStatus.Rejected, Vanishing.AuthorVanishedMessage), (again.Status, again.Message));
        var wrapAgain = await fixture.GrainsOn(1).GetGrain<IAuthorStreamGrain>(sender.Pubkey).AppendAsync(wrap);
        Assert.Equal((AppendStatus.Rejected, Vanishing.RecipientVanishedMessage), (wrapAgain.Status, wrapAgain.Message));
        var after = author.Note("back, with a clean slate", createdAt: now);
        Assert.Equal(AppendStatus.Accepted, (await fixture.GrainsOn(1).GetGrain<IAuthorStreamGrain>(author.Pubkey).AppendAsync(after)).Status);
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
