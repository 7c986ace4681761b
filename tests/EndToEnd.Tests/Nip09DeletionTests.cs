using NostrRelay.EndToEnd.Tests.Infrastructure;

namespace NostrRelay.EndToEnd.Tests;

/// <summary>
/// NIP-09: "Relays SHOULD delete or stop publishing any referenced events that have an identical pubkey as the
/// deletion request"; "Relays SHOULD continue to publish/share the deletion request events indefinitely"; "When an
/// a tag is used, relays SHOULD delete all versions of the replaceable event up to the created_at timestamp of the
/// deletion request event"; "Publishing a deletion request event against a deletion request has no effect".
/// Every event is signed by nostr-tools.
/// </summary>
[Collection(RelayCollection.Name)]
public sealed class Nip09DeletionTests(RelayFixture fixture)
{
    private const string Deleted = "blocked: a deletion request (NIP-09) names this event";

    [Fact]
    public async Task a_deleted_note_is_no_longer_served_the_request_is_and_the_note_cannot_be_published_again()
    {
        var key = NostrTools.NewSecretKey();
        var pubkey = await fixture.Tools.PublicKeyAsync(key);
        await using var client = await fixture.ConnectAsync();
        var note = await fixture.Tools.SignAsync(key, 1, "published by accident");
        var kept = await fixture.Tools.SignAsync(key, 1, "meant this one");
        await client.PublishAsync(note);
        await client.PublishAsync(kept);
        var request = await fixture.Tools.SignAsync(key, 5, "oops", [["e", note.Id], ["k", "1"]]);

        var requested = await client.PublishAsync(request);
        var served = await client.QueryAsync("after", new { authors = new[] { pubkey } });
        var again = await client.PublishAsync(note);

        Assert.Equal((true, ""), requested);
        Assert.Equal(new[] { request.Id, kept.Id }.Order(), served.Select(Frames.Id).Order());
        Assert.Equal((false, Deleted), again);
    }

    [Fact]
    public async Task another_authors_event_named_by_a_request_is_kept()
    {
        var bob = NostrTools.NewSecretKey();
        await using var client = await fixture.ConnectAsync();
        var bobs = await fixture.Tools.SignAsync(bob, 1, "bob's note");
        await client.PublishAsync(bobs);

        await client.PublishAsync(await fixture.Tools.SignAsync(NostrTools.NewSecretKey(), 5, "", [["e", bobs.Id]]));

        Assert.Equal(bobs.Id, Frames.Id(Assert.Single(await client.QueryAsync("bob", new { ids = new[] { bobs.Id } }))));
    }

    [Fact]
    public async Task an_address_deletion_removes_the_versions_before_it_and_a_newer_version_is_taken()
    {
        var key = NostrTools.NewSecretKey();
        var pubkey = await fixture.Tools.PublicKeyAsync(key);
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        await using var client = await fixture.ConnectAsync();
        var article = await fixture.Tools.SignAsync(key, 30023, "draft", [["d", "essay"]], createdAt: now - 60);
        await client.PublishAsync(article);

        await client.PublishAsync(await fixture.Tools.SignAsync(key, 5, "", [["a", $"30023:{pubkey}:essay"], ["k", "30023"]], createdAt: now - 30));
        var older = await client.PublishAsync(await fixture.Tools.SignAsync(key, 30023, "edited before", [["d", "essay"]], createdAt: now - 45));
        var newer = await fixture.Tools.SignAsync(key, 30023, "rewritten", [["d", "essay"]], createdAt: now);
        var newerResult = await client.PublishAsync(newer);
        var served = await client.QueryAsync("essay", new { kinds = new[] { 30023 }, authors = new[] { pubkey } });

        Assert.Equal((false, Deleted), older);
        Assert.Equal((true, ""), newerResult);
        Assert.Equal([newer.Id], served.Select(Frames.Id));
    }

    [Fact]
    public async Task a_live_subscriber_gets_the_deletion_request()
    {
        var key = NostrTools.NewSecretKey();
        var pubkey = await fixture.Tools.PublicKeyAsync(key);
        await using var publisher = await fixture.ConnectAsync();
        await using var follower = await fixture.ConnectAsync();
        var note = await fixture.Tools.SignAsync(key, 1, "soon gone");
        await publisher.PublishAsync(note);
        await follower.QueryAsync("follow", new { authors = new[] { pubkey }, kinds = new[] { 5 } });
        var request = await fixture.Tools.SignAsync(key, 5, "", [["e", note.Id]]);

        await publisher.PublishAsync(request);

        var live = await follower.ExpectAsync(f => Frames.Is(f, "EVENT") && f[1].GetString() == "follow");
        Assert.Equal(request.Id, Frames.Id(live[2]));
    }

    [Fact]
    public async Task a_request_against_a_request_has_no_effect()
    {
        var key = NostrTools.NewSecretKey();
        var pubkey = await fixture.Tools.PublicKeyAsync(key);
        await using var client = await fixture.ConnectAsync();
        var note = await fixture.Tools.SignAsync(key, 1, "gone");
        await client.PublishAsync(note);
        var request = await fixture.Tools.SignAsync(key, 5, "", [["e", note.Id]]);
        await client.PublishAsync(request);

        var undo = await fixture.Tools.SignAsync(key, 5, "undo", [["e", request.Id]]);
        await client.PublishAsync(undo);

        var served = await client.QueryAsync("all", new { authors = new[] { pubkey } });
        Assert.Equal(new[] { request.Id, undo.Id }.Order(), served.Select(Frames.Id).Order());
        Assert.Equal((false, Deleted), await client.PublishAsync(note));
    }
}
