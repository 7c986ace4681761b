using NostrRelay.EndToEnd.Tests.Infrastructure;

namespace NostrRelay.EndToEnd.Tests;

/// <summary>
/// NIP-42: "relays can send ["AUTH", &lt;challenge-string&gt;]"; the client answers with a kind 22242 event whose tags
/// name the relay URL and the challenge; "relays MUST exclude kind 22242 events from being broadcasted"; "the signed
/// event ... created_at should be the current time". "auth-required:" tells a client to authenticate first.
/// AUTH events are made by nostr-tools' <c>makeAuthEvent</c>. Private kinds (4 and 1059 by default) are served only
/// to their parties: NIP-04 and NIP-59 messages do not leak to other readers.
/// </summary>
[Collection(RelayCollection.Name)]
public sealed class Nip42AuthTests(RelayFixture fixture)
{
    private string RelayUrl => fixture.Relay.Url.ToString();

    private async Task<(bool Accepted, string Message)> AuthenticateAsync(TestClient client, string key, string? relay = null,
        string? challenge = null, long? createdAt = null)
    {
        var auth = await fixture.Tools.AuthAsync(key, relay ?? RelayUrl, challenge ?? await client.ChallengeAsync(), createdAt);
        return await client.PublishRawAsync(auth.Id, $"[\"AUTH\",{auth.Json}]");
    }

    [Fact]
    public async Task a_client_is_challenged_on_connect_and_authenticates_with_a_signed_kind_22242()
    {
        await using var client = await fixture.ConnectAsync();

        var result = await AuthenticateAsync(client, NostrTools.NewSecretKey());

        Assert.Equal(32, (await client.ChallengeAsync()).Length);
        Assert.Equal((true, ""), result);
    }

    [Fact]
    public async Task a_wrong_challenge_relay_or_time_or_a_bad_signature_proves_nothing()
    {
        await using var client = await fixture.ConnectAsync();
        var key = NostrTools.NewSecretKey();

        var wrongChallenge = await AuthenticateAsync(client, key, challenge: "not-the-challenge");
        var wrongRelay = await AuthenticateAsync(client, key, relay: "wss://another.relay.example/");
        var stale = await AuthenticateAsync(client, key, createdAt: DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 3600);
        var auth = await fixture.Tools.AuthAsync(key, RelayUrl, await client.ChallengeAsync());
        var forged = auth.Json[..^3] + (auth.Json[^3] == 'a' ? "b" : "a") + auth.Json[^2..];   // the signature's last digit changed
        var badSignature = await client.PublishRawAsync(auth.Id, $"[\"AUTH\",{forged}]");

        Assert.Equal((false, "invalid: the challenge tag is not the one this connection was sent"), wrongChallenge);
        Assert.Equal((false, "invalid: the relay tag does not name this relay"), wrongRelay);
        Assert.Equal((false, "invalid: an AUTH event must be created within ten minutes of now"), stale);
        Assert.False(badSignature.Accepted);
        Assert.StartsWith("invalid:", badSignature.Message);
    }

    [Fact]
    public async Task a_connection_proves_several_pubkeys_up_to_a_bound()
    {
        await using var client = await fixture.ConnectAsync();
        var results = new List<(bool Accepted, string Message)>();
        for (var i = 0; i <= 16; i++) results.Add(await AuthenticateAsync(client, NostrTools.NewSecretKey()));

        Assert.All(results.Take(16), result => Assert.Equal((true, ""), result));
        Assert.Equal((false, "restricted: a connection may authenticate at most 16 pubkeys"), results[16]);
    }

    [Fact]
    public async Task an_auth_event_sent_as_an_event_is_refused_and_never_broadcast()
    {
        await using var client = await fixture.ConnectAsync();
        var auth = await fixture.Tools.AuthAsync(NostrTools.NewSecretKey(), RelayUrl, await client.ChallengeAsync());

        Assert.Equal((false, "invalid: kind 22242 is for AUTH messages and is never published"), await client.PublishAsync(auth));
    }

    [Fact]
    public async Task the_relay_url_matches_across_ws_and_wss_case_and_a_trailing_slash()
    {
        await using var client = await fixture.ConnectAsync();
        var loose = $"WSS://127.0.0.1:{fixture.Relay.Port}";

        Assert.Equal((true, ""), await AuthenticateAsync(client, NostrTools.NewSecretKey(), relay: loose));
    }

    [Fact]
    public async Task a_direct_message_reaches_only_its_author_and_recipient_once_authenticated()
    {
        var alice = NostrTools.NewSecretKey();
        var bob = NostrTools.NewSecretKey();
        var bobPubkey = await fixture.Tools.PublicKeyAsync(bob);
        var dm = await fixture.Tools.SignAsync(alice, 4, "ciphertext?iv=x", [["p", bobPubkey]]);
        await using (var sender = await fixture.ConnectAsync()) Assert.True((await sender.PublishAsync(dm)).Accepted);

        await using var stranger = await fixture.ConnectAsync();
        await stranger.SendAsync(Frames.Req("dms", new { kinds = new[] { 4 }, authors = new[] { dm.Pubkey } }));
        var refused = await stranger.ExpectAsync(f => Frames.IsFor(f, "dms"));
        var unnamed = await stranger.QueryAsync("all", new { authors = new[] { dm.Pubkey } });
        var strangerKey = NostrTools.NewSecretKey();
        await AuthenticateAsync(stranger, strangerKey);
        await stranger.SendAsync(Frames.Req("dms2", new { kinds = new[] { 4 }, authors = new[] { dm.Pubkey } }));
        var notTheirs = await stranger.ExpectAsync(f => Frames.IsFor(f, "dms2"));
        var strangersOwn = await stranger.QueryAsync("dms3", new { kinds = new[] { 4 }, authors = new[] { await fixture.Tools.PublicKeyAsync(strangerKey) } });

        await using var recipient = await fixture.ConnectAsync();
        Assert.Equal((true, ""), await AuthenticateAsync(recipient, bob));
        var received = await recipient.QueryAsync("mine", new Dictionary<string, object> { ["kinds"] = new[] { 4 }, ["authors"] = new[] { dm.Pubkey }, ["#p"] = new[] { bobPubkey } });

        Assert.Equal("CLOSED", refused[0].GetString());
        Assert.StartsWith("auth-required:", refused[2].GetString());
        Assert.True(stranger.ChallengeCount >= 2, "an auth-required refusal comes with the challenge again");
        Assert.Empty(unnamed);
        Assert.Equal("restricted: direct messages and gift wraps: name your own pubkey in authors or #p", notTheirs[2].GetString());
        Assert.Empty(strangersOwn);
        Assert.Equal([dm.Id], received.Select(Frames.Id));
    }

    [Fact]
    public async Task a_live_direct_message_is_delivered_to_the_recipient_and_not_to_a_stranger()
    {
        var alice = NostrTools.NewSecretKey();
        var bob = NostrTools.NewSecretKey();
        var bobPubkey = await fixture.Tools.PublicKeyAsync(bob);
        var alicePubkey = await fixture.Tools.PublicKeyAsync(alice);
        await using var recipient = await fixture.ConnectAsync();
        await using var stranger = await fixture.ConnectAsync();
        await AuthenticateAsync(recipient, bob);
        await AuthenticateAsync(stranger, NostrTools.NewSecretKey());
        await recipient.QueryAsync("live", new { authors = new[] { alicePubkey } });
        await stranger.QueryAsync("live", new { authors = new[] { alicePubkey } });

        await using var sender = await fixture.ConnectAsync();
        await sender.PublishAsync(await fixture.Tools.SignAsync(alice, 4, "secret?iv=x", [["p", bobPubkey]]));
        var note = await fixture.Tools.SignAsync(alice, 1, "public note");
        await sender.PublishAsync(note);

        var recipientFirst = await recipient.ExpectAsync(f => Frames.Is(f, "EVENT"));
        var strangerFirst = await stranger.ExpectAsync(f => Frames.Is(f, "EVENT"));
        Assert.Equal(4, recipientFirst[2].GetProperty("kind").GetInt32());
        Assert.Equal(note.Id, Frames.Id(strangerFirst[2]));
    }

    [Fact]
    public async Task with_auth_required_nothing_is_read_or_written_before_authenticating()
    {
        await using var relay = await RelayServer.StartAsync("Relay:Auth:Required=true");
        await using var client = await TestClient.ConnectAsync(relay.Url);
        var key = NostrTools.NewSecretKey();
        var note = await fixture.Tools.SignAsync(key, 1, "hello");

        var before = await client.PublishAsync(note);
        await client.SendAsync(Frames.Req("r", new { limit = 1 }));
        var closed = await client.ExpectAsync(f => Frames.IsFor(f, "r"));
        var auth = await fixture.Tools.AuthAsync(key, relay.Url.ToString(), await client.ChallengeAsync());
        Assert.Equal((true, ""), await client.PublishRawAsync(auth.Id, $"[\"AUTH\",{auth.Json}]"));
        var after = await client.PublishAsync(note);
        var document = await InformationDocument.LimitationAsync(relay.HttpUrl);

        Assert.Equal((false, "auth-required: this relay serves authenticated clients only"), before);
        Assert.Equal("auth-required: this relay serves authenticated clients only", closed[2].GetString());
        Assert.Equal((true, ""), after);
        Assert.True(document.GetProperty("auth_required").GetBoolean());
    }

    [Fact]
    public async Task configured_private_kinds_replace_the_default_and_the_gate_can_be_turned_off()
    {
        await using var replaced = await RelayServer.StartAsync("Relay:Auth:PrivateKinds:0=14");
        await using var off = await RelayServer.StartAsync("Relay:Auth:GatePrivateKinds=false");
        await using var toReplaced = await TestClient.ConnectAsync(replaced.Url);
        await using var toOff = await TestClient.ConnectAsync(off.Url);

        var kind4 = await toReplaced.QueryAsync("k4", new { kinds = new[] { 4 }, limit = 1 });
        await toReplaced.SendAsync(Frames.Req("k14", new { kinds = new[] { 14 }, limit = 1 }));
        var kind14 = await toReplaced.ExpectAsync(f => Frames.IsFor(f, "k14"));
        var ungated = await toOff.QueryAsync("k1059", new { kinds = new[] { 1059 }, limit = 1 });

        Assert.Empty(kind4);
        Assert.StartsWith("auth-required:", kind14[2].GetString());
        Assert.Empty(ungated);
    }

    [Fact]
    public async Task a_repost_carrying_a_direct_message_is_refused()
    {
        var dm = await fixture.Tools.SignAsync(NostrTools.NewSecretKey(), 4, "ciphertext?iv=x", [["p", new string('b', 64)]]);
        await using var client = await fixture.ConnectAsync();

        var repost = await client.PublishAsync(await fixture.Tools.SignAsync(NostrTools.NewSecretKey(), 16, dm.Json, [["e", dm.Id], ["k", "4"]]));

        Assert.Equal((false, "blocked: a repost of a protected event (NIP-70) or a private one is not accepted"), repost);
    }

    [Fact]
    public async Task with_public_urls_configured_the_relay_tag_must_name_one_of_them()
    {
        await using var relay = await RelayServer.StartAsync("Relay:PublicUrls:0=wss://relay.example.com/");
        await using var client = await TestClient.ConnectAsync(relay.Url);
        var key = NostrTools.NewSecretKey();

        var local = await fixture.Tools.AuthAsync(key, relay.Url.ToString(), await client.ChallengeAsync());
        var named = await fixture.Tools.AuthAsync(key, "wss://relay.example.com", await client.ChallengeAsync());

        Assert.Equal((false, "invalid: the relay tag does not name this relay"), await client.PublishRawAsync(local.Id, $"[\"AUTH\",{local.Json}]"));
        Assert.Equal((true, ""), await client.PublishRawAsync(named.Id, $"[\"AUTH\",{named.Json}]"));
    }
}
