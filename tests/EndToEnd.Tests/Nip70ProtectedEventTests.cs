using NostrRelay.EndToEnd.Tests.Infrastructure;

namespace NostrRelay.EndToEnd.Tests;

/// <summary>
/// NIP-70: "When the "-" tag is present, that means the event is "protected""; the relay "MUST reject it" unless
/// the author is authenticated (NIP-42): first "auth-required: this event may only be published by its author", then
/// "restricted:" for another pubkey. Reposts of protected events are refused too.
/// </summary>
[Collection(RelayCollection.Name)]
public sealed class Nip70ProtectedEventTests(RelayFixture fixture)
{
    [Fact]
    public async Task a_protected_event_is_taken_only_from_its_authenticated_author()
    {
        var author = NostrTools.NewSecretKey();
        var protectedNote = await fixture.Tools.SignAsync(author, 1, "only from me", [["-"]]);
        await using var client = await fixture.ConnectAsync();

        var anonymous = await client.PublishAsync(protectedNote);
        var otherAuth = await fixture.Tools.AuthAsync(NostrTools.NewSecretKey(), fixture.Relay.Url.ToString(), await client.ChallengeAsync());
        await client.PublishRawAsync(otherAuth.Id, $"[\"AUTH\",{otherAuth.Json}]");
        var asSomeoneElse = await client.PublishAsync(protectedNote);
        var authorAuth = await fixture.Tools.AuthAsync(author, fixture.Relay.Url.ToString(), await client.ChallengeAsync());
        await client.PublishRawAsync(authorAuth.Id, $"[\"AUTH\",{authorAuth.Json}]");
        var asAuthor = await client.PublishAsync(protectedNote);

        Assert.False(anonymous.Accepted);
        Assert.StartsWith("auth-required:", anonymous.Message);
        Assert.False(asSomeoneElse.Accepted);
        Assert.StartsWith("restricted:", asSomeoneElse.Message);
        Assert.Equal((true, ""), asAuthor);
    }

    [Fact]
    public async Task a_repost_carrying_a_protected_event_is_refused_and_an_ordinary_repost_is_not()
    {
        var author = NostrTools.NewSecretKey();
        var reposter = NostrTools.NewSecretKey();
        var protectedNote = await fixture.Tools.SignAsync(author, 1, "mine alone", [["-"]]);
        var plainNote = await fixture.Tools.SignAsync(author, 1, "share freely");
        await using var client = await fixture.ConnectAsync();

        var protectedRepost = await client.PublishAsync(await fixture.Tools.SignAsync(reposter, 6, protectedNote.Json, [["e", protectedNote.Id]]));
        var plainRepost = await client.PublishAsync(await fixture.Tools.SignAsync(reposter, 6, plainNote.Json, [["e", plainNote.Id]]));

        Assert.Equal((false, "blocked: a repost of a protected event (NIP-70) or a private one is not accepted"), protectedRepost);
        Assert.Equal((true, ""), plainRepost);
    }
}
