using NostrRelay.EndToEnd.Tests.Infrastructure;

namespace NostrRelay.EndToEnd.Tests;

/// <summary>
/// Who and what may publish (<c>Relay:Policies</c>). NIP-01 OK prefixes: "blocked" and "restricted" for an event the
/// relay refuses by its rules. NIP-11: "<c>restricted_writes</c>: this relay requires some kind of condition to be
/// fulfilled in order to accept events (not necessarily, but including payment_required and min_pow_difficulty)".
/// </summary>
[Collection(RelayCollection.Name)]
public sealed class ModerationTests(RelayFixture fixture)
{
    [Fact]
    public async Task with_allowed_kinds_only_those_kinds_are_accepted()
    {
        await using var relay = await RelayServer.StartAsync("Relay:Policies:AllowedKinds:0=1", "Relay:Policies:AllowedKinds:1=7");
        await using var client = await TestClient.ConnectAsync(relay.Url);
        var sk = NostrTools.NewSecretKey();
        var note = await fixture.Tools.SignAsync(sk, 1, "a note");
        var reaction = await fixture.Tools.SignAsync(sk, 7, "+");
        var article = await fixture.Tools.SignAsync(sk, 30023, "an article", [["d", "a"]]);

        var noteResult = await client.PublishAsync(note);
        var reactionResult = await client.PublishAsync(reaction);
        var articleResult = await client.PublishAsync(article);

        Assert.True(noteResult.Accepted, noteResult.Message);
        Assert.True(reactionResult.Accepted, reactionResult.Message);
        Assert.False(articleResult.Accepted);
        Assert.Equal("blocked: kind 30023 is not accepted here", articleResult.Message);
        var stored = await client.QueryAsync("q", new { authors = new[] { note.Pubkey } });
        Assert.Equal(new[] { note.Id, reaction.Id }.Order(), stored.Select(Frames.Id).Order());
    }

    [Fact]
    public async Task denied_kinds_are_refused_and_other_kinds_accepted()
    {
        await using var relay = await RelayServer.StartAsync("Relay:Policies:DeniedKinds:0=4");
        await using var client = await TestClient.ConnectAsync(relay.Url);
        var sk = NostrTools.NewSecretKey();
        var dm = await fixture.Tools.SignAsync(sk, 4, "ciphertext?iv=abc");
        var note = await fixture.Tools.SignAsync(sk, 1, "a note");

        var dmResult = await client.PublishAsync(dm);
        var noteResult = await client.PublishAsync(note);

        Assert.False(dmResult.Accepted);
        Assert.Equal("blocked: kind 4 is not accepted here", dmResult.Message);
        Assert.True(noteResult.Accepted, noteResult.Message);
        Assert.Equal(note.Id, Frames.Id(Assert.Single(await client.QueryAsync("q", new { authors = new[] { note.Pubkey } }))));
    }

    [Fact]
    public async Task with_allowed_pubkeys_members_publish_and_others_are_restricted()
    {
        var memberKey = NostrTools.NewSecretKey();
        var member = await fixture.Tools.PublicKeyAsync(memberKey);
        await using var relay = await RelayServer.StartAsync($"Relay:Policies:AllowedPubkeys:0={member}");
        await using var client = await TestClient.ConnectAsync(relay.Url);
        var fromMember = await fixture.Tools.SignAsync(memberKey, 1, "member");
        var fromStranger = await fixture.Tools.SignAsync(NostrTools.NewSecretKey(), 1, "stranger");

        var memberResult = await client.PublishAsync(fromMember);
        var strangerResult = await client.PublishAsync(fromStranger);

        Assert.True(memberResult.Accepted, memberResult.Message);
        Assert.False(strangerResult.Accepted);
        Assert.Equal("restricted: this relay accepts events from its members only", strangerResult.Message);
        Assert.Empty(await client.QueryAsync("q", new { ids = new[] { fromStranger.Id } }));
    }

    [Fact]
    public async Task a_denied_pubkey_is_blocked_and_is_not_delivered_to_subscribers()
    {
        var bannedKey = NostrTools.NewSecretKey();
        var banned = await fixture.Tools.PublicKeyAsync(bannedKey);
        await using var relay = await RelayServer.StartAsync($"Relay:Policies:DeniedPubkeys:0={banned}");
        await using var client = await TestClient.ConnectAsync(relay.Url);
        await using var watcher = await TestClient.ConnectAsync(relay.Url);
        await watcher.QueryAsync("live", new { kinds = new[] { 1 }, limit = 0 });
        var fromBanned = await fixture.Tools.SignAsync(bannedKey, 1, "spam");
        var fromOther = await fixture.Tools.SignAsync(NostrTools.NewSecretKey(), 1, "hello");

        var bannedResult = await client.PublishAsync(fromBanned);
        var otherResult = await client.PublishAsync(fromOther);

        Assert.False(bannedResult.Accepted);
        Assert.Equal("blocked: this pubkey may not publish here", bannedResult.Message);
        Assert.True(otherResult.Accepted, otherResult.Message);
        // Live events reach a subscriber in order, so once the later accepted one arrived the refused one never will.
        var live = await watcher.ExpectAsync(f => Frames.IsFor(f, "live") && Frames.Is(f, "EVENT"));
        Assert.Equal(fromOther.Id, Frames.Id(live[2]));
        Assert.Empty(await client.QueryAsync("q", new { authors = new[] { banned } }));
    }

    [Fact]
    public async Task restricted_writes_is_advertised_with_an_allow_list_and_not_without()
    {
        await using var allowPubkeys = await RelayServer.StartAsync($"Relay:Policies:AllowedPubkeys:0={new string('a', 64)}");
        await using var allowKinds = await RelayServer.StartAsync("Relay:Policies:AllowedKinds:0=1");
        await using var denyOnly = await RelayServer.StartAsync($"Relay:Policies:DeniedPubkeys:0={new string('b', 64)}", "Relay:Policies:DeniedKinds:0=4");
        await using var pow = await RelayServer.StartAsync("Relay:Limits:MinPowDifficulty=8");

        Assert.True((await InformationDocument.LimitationAsync(allowPubkeys.HttpUrl)).GetProperty("restricted_writes").GetBoolean());
        Assert.True((await InformationDocument.LimitationAsync(allowKinds.HttpUrl)).GetProperty("restricted_writes").GetBoolean());
        Assert.False((await InformationDocument.LimitationAsync(denyOnly.HttpUrl)).GetProperty("restricted_writes").GetBoolean());
        // NIP-11: restricted_writes includes "min_pow_difficulty".
        Assert.True((await InformationDocument.LimitationAsync(pow.HttpUrl)).GetProperty("restricted_writes").GetBoolean());
        Assert.False((await InformationDocument.LimitationAsync(fixture.Relay.HttpUrl)).GetProperty("restricted_writes").GetBoolean());
    }
}
