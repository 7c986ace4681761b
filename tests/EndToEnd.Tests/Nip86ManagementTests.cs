using System.Net.WebSockets;
using System.Text.Json;
using NostrRelay.EndToEnd.Tests.Infrastructure;
using static NostrRelay.EndToEnd.Tests.Infrastructure.Management;

namespace NostrRelay.EndToEnd.Tests;

/// <summary>
/// NIP-86: "a JSON-RPC-like request-response protocol over HTTP, on the same URI as the relay's websocket", with
/// <c>Content-Type: application/nostr+json+rpc</c>, answered <c>{"result": ..., "error": ...}</c>; "the request must
/// contain an Authorization header with a valid NIP-98 event, except the payload tag is required. The u tag is the
/// relay URL. If Authorization is not provided or is invalid, the endpoint should return a 401 response." NIP-98: kind
/// 27235, "created_at ... within a reasonable time window (suggestion 60 seconds)", the <c>method</c> tag the request's.
/// Calls are made with nostr-tools' nip98 helper (tests/js/manage.mjs); admins come from Relay:Management:Admins.
/// </summary>
[Collection(RelayCollection.Name)]
public sealed class Nip86ManagementTests(RelayFixture fixture) : IAsyncLifetime
{
    private readonly string _admin = NostrTools.NewSecretKey();
    private RelayServer _relay = null!;

    private Uri Url => _relay.HttpUrl;

    public async Task InitializeAsync() =>
        _relay = await RelayServer.StartAsync(dataDirectory: null, customize: null, $"Relay:Management:Admins:0={await fixture.Tools.PublicKeyAsync(_admin)}");

    public async Task DisposeAsync() => await _relay.DisposeAsync();

    private async Task<(bool Accepted, string Message)> PublishAsync(SignedEvent evt)
    {
        await using var client = await TestClient.ConnectAsync(_relay.Url);
        return await client.PublishAsync(evt);
    }

    [Fact]
    public async Task a_banned_pubkey_is_refused_until_unbanned_and_the_list_says_why()
    {
        var spammer = NostrTools.NewSecretKey();
        var pubkey = await fixture.Tools.PublicKeyAsync(spammer);

        var answers = await CallAsync(Url, _admin, Call("banpubkey", pubkey, "spam"), Call("listbannedpubkeys"));
        var whileBanned = await PublishAsync(await fixture.Tools.SignAsync(spammer, 1, "buy now"));
        var unbanned = await CallAsync(Url, _admin, Call("unbanpubkey", pubkey), Call("listbannedpubkeys"));
        var afterwards = await PublishAsync(await fixture.Tools.SignAsync(spammer, 1, "sorry"));

        Assert.All(answers.Concat(unbanned), a => Assert.Equal(200, a.Status));
        Assert.True(answers[0].Result.GetBoolean());
        Assert.Equal($$"""[{"pubkey":"{{pubkey}}","reason":"spam"}]""", answers[1].Result.GetRawText());
        Assert.Equal((false, "blocked: this pubkey may not publish here"), whileBanned);
        Assert.Equal("[]", unbanned[1].Result.GetRawText());
        Assert.Equal((true, ""), afterwards);
    }

    [Fact]
    public async Task an_allow_list_admits_its_pubkeys_and_an_allowed_event_from_anyone()
    {
        var member = NostrTools.NewSecretKey();
        var outsider = NostrTools.NewSecretKey();
        var approved = await fixture.Tools.SignAsync(outsider, 1, "approved by a moderator");

        var answers = await CallAsync(Url, _admin, Call("allowpubkey", await fixture.Tools.PublicKeyAsync(member), "paid"),
            Call("allowevent", approved.Id, "ok"), Call("listallowedpubkeys"), Call("listallowedevents"), Call("listeventsneedingmoderation"));
        var fromMember = await PublishAsync(await fixture.Tools.SignAsync(member, 1, "hi"));
        var fromOutsider = await PublishAsync(await fixture.Tools.SignAsync(outsider, 1, "let me in"));
        var approvedOne = await PublishAsync(approved);
        await CallAsync(Url, _admin, Call("unallowpubkey", await fixture.Tools.PublicKeyAsync(member)), Call("unallowevent", approved.Id));
        var openAgain = await PublishAsync(await fixture.Tools.SignAsync(outsider, 1, "open again"));

        Assert.Single(answers[2].Result.EnumerateArray());
        Assert.Equal($$"""[{"id":"{{approved.Id}}","reason":"ok"}]""", answers[3].Result.GetRawText());
        Assert.Equal("[]", answers[4].Result.GetRawText());
        Assert.Equal((true, ""), fromMember);
        Assert.Equal((false, "restricted: this relay accepts events from its members only"), fromOutsider);
        Assert.Equal((true, ""), approvedOne);
        Assert.Equal((true, ""), openAgain);
    }

    [Fact]
    public async Task banning_the_only_member_of_an_allow_list_keeps_the_relay_closed()
    {
        var member = NostrTools.NewSecretKey();
        var memberPubkey = await fixture.Tools.PublicKeyAsync(member);

        await CallAsync(Url, _admin, Call("allowpubkey", memberPubkey), Call("banpubkey", memberPubkey));
        var fromMember = await PublishAsync(await fixture.Tools.SignAsync(member, 1, "banned now"));
        var fromOutsider = await PublishAsync(await fixture.Tools.SignAsync(NostrTools.NewSecretKey(), 1, "still outside"));
        await CallAsync(Url, _admin, Call("unbanpubkey", memberPubkey), Call("unallowpubkey", memberPubkey));

        Assert.Equal((false, "blocked: this pubkey may not publish here"), fromMember);
        Assert.Equal((false, "restricted: this relay accepts events from its members only"), fromOutsider);
    }

    [Fact]
    public async Task a_banned_event_is_removed_from_the_store_and_refused_until_unbanned()
    {
        var author = NostrTools.NewSecretKey();
        var evt = await fixture.Tools.SignAsync(author, 1, "something unlawful");
        Assert.Equal((true, ""), await PublishAsync(evt));

        var answers = await CallAsync(Url, _admin, Call("banevent", evt.Id, "illegal"), Call("listbannedevents"));
        await using var reader = await TestClient.ConnectAsync(_relay.Url);
        var stored = await reader.QueryAsync("gone", new { ids = new[] { evt.Id } });
        var again = await PublishAsync(evt);
        await CallAsync(Url, _admin, Call("unbanevent", evt.Id));
        var afterUnban = await PublishAsync(evt);

        Assert.True(answers[0].Result.GetBoolean());
        Assert.Equal($$"""[{"id":"{{evt.Id}}","reason":"illegal"}]""", answers[1].Result.GetRawText());
        Assert.Empty(stored);
        Assert.Equal((false, "blocked: this event is banned here"), again);
        Assert.Equal((true, ""), afterUnban);
    }

    [Fact]
    public async Task kinds_are_allowed_and_disallowed()
    {
        var author = NostrTools.NewSecretKey();
        var answers = await CallAsync(Url, _admin, Call("allowkind", 1), Call("allowkind", 7), Call("disallowkind", 7), Call("listallowedkinds"), Call("listdisallowedkinds"));
        var note = await PublishAsync(await fixture.Tools.SignAsync(author, 1, "a note"));
        var reaction = await PublishAsync(await fixture.Tools.SignAsync(author, 7, "+"));
        var article = await PublishAsync(await fixture.Tools.SignAsync(author, 30023, "an article", [["d", "x"]]));

        Assert.Equal("[1]", answers[3].Result.GetRawText());
        Assert.Equal("[7]", answers[4].Result.GetRawText());
        Assert.Equal((true, ""), note);
        Assert.Equal((false, "blocked: kind 7 is not accepted here"), reaction);
        Assert.Equal((false, "blocked: kind 30023 is not accepted here"), article);
    }

    [Fact]
    public async Task the_information_document_follows_the_relays_new_name_description_and_icon()
    {
        var answers = await CallAsync(Url, _admin, Call("changerelayname", "Renamed relay"), Call("changerelaydescription", "Moderated by NIP-86."),
            Call("changerelayicon", "https://relay.example/icon.png"), Call("supportedmethods"));
        var document = await InformationDocument.FetchAsync(_relay.HttpUrl);

        Assert.All(answers.Take(3), a => Assert.True(a.Result.GetBoolean()));
        Assert.Contains("banpubkey", answers[3].Result.EnumerateArray().Select(m => m.GetString()));
        Assert.Equal("Renamed relay", document.GetProperty("name").GetString());
        Assert.Equal("Moderated by NIP-86.", document.GetProperty("description").GetString());
        Assert.Equal("https://relay.example/icon.png", document.GetProperty("icon").GetString());
        Assert.Contains(86, document.GetProperty("supported_nips").EnumerateArray().Select(e => e.GetInt32()));
    }

    [Fact]
    public async Task a_blocked_address_cannot_connect_or_publish_until_unblocked()
    {
        await using var connected = await TestClient.ConnectAsync(_relay.Url);
        var author = NostrTools.NewSecretKey();

        var answers = await CallAsync(Url, _admin, Call("blockip", "127.0.0.1", "abuse"), Call("listblockedips"));
        var onOpenConnection = await connected.PublishAsync(await fixture.Tools.SignAsync(author, 1, "from a blocked address"));
        var refused = await Assert.ThrowsAsync<WebSocketException>(() => TestClient.ConnectAsync(_relay.Url));
        await CallAsync(Url, _admin, Call("unblockip", "127.0.0.1"));
        await using var again = await TestClient.ConnectAsync(_relay.Url);

        Assert.Equal("""[{"ip":"127.0.0.1","reason":"abuse"}]""", answers[1].Result.GetRawText());
        Assert.Equal((false, "blocked: your address is blocked here"), onOpenConnection);
        Assert.Contains("403", refused.Message);
        Assert.Equal((true, ""), await again.PublishAsync(await fixture.Tools.SignAsync(author, 1, "unblocked")));
    }

    [Fact]
    public async Task only_a_fresh_signed_authorization_from_an_admin_for_this_url_method_and_body_is_accepted()
    {
        var answers = await CallAsync(Url, _admin,
            Broken("listbannedpubkeys", "none"), Broken("listbannedpubkeys", "old"), Broken("listbannedpubkeys", "url"),
            Broken("listbannedpubkeys", "payload"), Broken("listbannedpubkeys", "method"),
            Call("listbannedpubkeys"), Broken("listbannedpubkeys", "replay"));
        var stranger = await CallAsync(Url, NostrTools.NewSecretKey(), Call("banpubkey", new string('a', 64)));
        var badCalls = await CallAsync(Url, _admin, Call("nosuchmethod"), Call("banpubkey", "not hex"), Call("allowkind", "1"));

        Assert.Equal([401, 401, 401, 401, 401, 200, 401], answers.Select(a => a.Status));
        Assert.Equal("unauthorized: an Authorization header with a NIP-98 event (Nostr <base64>) is required", answers[0].Error);
        Assert.Equal("unauthorized: the authorization event must be created within 60 seconds of now", answers[1].Error);
        Assert.Equal("unauthorized: the u tag does not name this relay", answers[2].Error);
        Assert.Equal("unauthorized: the payload tag is not the SHA-256 of this body", answers[3].Error);
        Assert.Equal("unauthorized: the method tag is not this request's method", answers[4].Error);
        Assert.Equal("unauthorized: this authorization was already used", answers[6].Error);
        Assert.Equal(401, stranger[0].Status);
        Assert.Equal("unauthorized: this pubkey is not an admin of this relay", stranger[0].Error);
        Assert.Equal("unsupported method: nosuchmethod", badCalls[0].Error);
        Assert.Equal("invalid params: banpubkey takes a 64-character lowercase hex pubkey", badCalls[1].Error);
        Assert.StartsWith("invalid params: allowkind takes a kind number", badCalls[2].Error);
    }

    [Fact]
    public async Task moderation_survives_a_restart_and_a_relay_without_admins_answers_401()
    {
        var data = Path.Combine(Path.GetTempPath(), "relay-e2e-" + Guid.NewGuid().ToString("N")[..8]);
        var admin = await fixture.Tools.PublicKeyAsync(_admin);
        var banned = new string('b', 64);
        try
        {
            await using (var first = await RelayServer.StartAsync(data, customize: null, $"Relay:Management:Admins:0={admin}"))
                await CallAsync(first.HttpUrl, _admin, Call("banpubkey", banned, "gone for good"), Call("changerelayname", "Kept"));
            await using var second = await RelayServer.StartAsync(data, customize: null, $"Relay:Management:Admins:0={admin}");
            var after = await CallAsync(second.HttpUrl, _admin, Call("listbannedpubkeys"));
            var name = (await InformationDocument.FetchAsync(second.HttpUrl)).GetProperty("name").GetString();
            await using var noAdmins = await RelayServer.StartAsync();
            var refused = await CallAsync(noAdmins.HttpUrl, _admin, Call("supportedmethods"));
            var nips = (await InformationDocument.FetchAsync(noAdmins.HttpUrl)).GetProperty("supported_nips").EnumerateArray().Select(e => e.GetInt32());

            Assert.Equal($$"""[{"pubkey":"{{banned}}","reason":"gone for good"}]""", after[0].Result.GetRawText());
            Assert.Equal("Kept", name);
            Assert.Equal(401, refused[0].Status);
            Assert.Equal("unauthorized: this relay has no admins (Relay:Management:Admins)", refused[0].Error);
            Assert.DoesNotContain(86, nips);
        }
        finally
        {
            try { Directory.Delete(data, recursive: true); } catch (IOException) { }
        }
    }
}
