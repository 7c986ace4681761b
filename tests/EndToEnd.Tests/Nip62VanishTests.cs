using NostrRelay.EndToEnd.Tests.Infrastructure;

namespace NostrRelay.EndToEnd.Tests;

/// <summary>
/// NIP-62: "Kind 62 requests a specific relay to delete everything, including NIP-09 Deletion Events, from the .pubkey
/// until its .created_at"; "The tag list MUST include at least one relay value"; "Relays MUST fully delete any events
/// from the .pubkey if their service URL is tagged"; "SHOULD delete all NIP-59 Gift Wraps that p-tagged the .pubkey";
/// "MUST ensure the deleted events cannot be re-broadcasted"; "Publishing a deletion request event (Kind 5) against a
/// request to vanish has no effect"; "ALL_RELAYS in uppercase" asks every relay.
/// </summary>
[Collection(RelayCollection.Name)]
public sealed class Nip62VanishTests(RelayFixture fixture)
{
    [Fact]
    public async Task a_request_naming_this_relay_removes_the_pubkeys_past_and_keeps_it_out()
    {
        var alice = NostrTools.NewSecretKey();
        var bob = NostrTools.NewSecretKey();
        var alicePubkey = await fixture.Tools.PublicKeyAsync(alice);
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        await using var client = await fixture.ConnectAsync();
        var note = await fixture.Tools.SignAsync(alice, 1, "a note to forget", createdAt: now - 30);
        var profile = await fixture.Tools.SignAsync(alice, 0, """{"name":"alice"}""", createdAt: now - 30);
        var deletion = await fixture.Tools.SignAsync(alice, 5, "", [["e", new string('0', 64)]], createdAt: now - 20);
        var wrap = await fixture.Tools.SignAsync(bob, 1059, "sealed", [["p", alicePubkey]], createdAt: now - 25);
        var mention = await fixture.Tools.SignAsync(bob, 1, "hi alice, in public", [["p", alicePubkey]], createdAt: now - 25);
        foreach (var evt in new[] { note, profile, deletion, wrap, mention }) Assert.Equal((true, ""), await client.PublishAsync(evt));
        var request = await fixture.Tools.SignAsync(alice, 62, "GDPR request", [["relay", fixture.Relay.Url.ToString()]], createdAt: now - 10);

        // This relay has no Relay:PublicUrls, so a request naming its URL needs its author authenticated (no replay).
        var unproven = await client.PublishAsync(request);
        var auth = await fixture.Tools.AuthAsync(alice, fixture.Relay.Url.ToString(), await client.ChallengeAsync());
        Assert.Equal((true, ""), await client.PublishRawAsync(auth.Id, $"[\"AUTH\",{auth.Json}]"));
        var taken = await client.PublishAsync(request);

        Assert.Equal((false, "auth-required: a request to vanish (NIP-62) naming this relay's URL is taken from its authenticated author"), unproven);
        Assert.Equal((true, ""), taken);
        Assert.Equal([request.Id], (await client.QueryAsync("alice", new { authors = new[] { alicePubkey } })).Select(e => e.GetProperty("id").GetString()));
        Assert.Equal([mention.Id], (await client.QueryAsync("to-alice", new Dictionary<string, object> { ["#p"] = new[] { alicePubkey } }))
            .Select(e => e.GetProperty("id").GetString()));   // authenticated as alice: the gift wrap is gone, not only hidden
        Assert.Equal((false, "blocked: this pubkey asked to vanish (NIP-62); its events dated before that request are not taken"), await client.PublishAsync(note));
        Assert.Equal((false, "blocked: the recipient asked to vanish (NIP-62); gift wraps for them dated before that request are not taken"), await client.PublishAsync(wrap));
        var undo = await fixture.Tools.SignAsync(alice, 5, "", [["e", request.Id]], createdAt: now);
        Assert.Equal((true, ""), await client.PublishAsync(undo));
        Assert.Equal([undo.Id, request.Id], (await client.QueryAsync("after", new { authors = new[] { alicePubkey } })).Select(e => e.GetProperty("id").GetString()));
    }

    [Fact]
    public async Task a_request_must_name_this_relay_or_all_relays()
    {
        await using var client = await fixture.ConnectAsync();
        var key = NostrTools.NewSecretKey();
        var pubkey = await fixture.Tools.PublicKeyAsync(key);
        var kept = await fixture.Tools.SignAsync(key, 1, "still here", createdAt: DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 60);
        Assert.Equal((true, ""), await client.PublishAsync(kept));

        var elsewhere = await client.PublishAsync(await fixture.Tools.SignAsync(key, 62, "", [["relay", "wss://another.relay.example"]]));
        var untagged = await client.PublishAsync(await fixture.Tools.SignAsync(key, 62, "no relay tag"));
        var stillThere = await client.QueryAsync("kept", new { authors = new[] { pubkey } });
        var everywhere = await client.PublishAsync(await fixture.Tools.SignAsync(key, 62, "everywhere", [["relay", "ALL_RELAYS"]]));

        Assert.Equal((false, "invalid: a request to vanish (NIP-62) must name this relay, or ALL_RELAYS, in a relay tag"), elsewhere);
        Assert.Equal(elsewhere, untagged);
        Assert.Equal([kept.Id], stillThere.Select(e => e.GetProperty("id").GetString()));
        Assert.Equal((true, ""), everywhere);
        Assert.Single(await client.QueryAsync("gone", new { authors = new[] { pubkey } }));
    }
}
