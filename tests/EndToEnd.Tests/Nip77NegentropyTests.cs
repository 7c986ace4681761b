using System.Diagnostics;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using NostrRelay.EndToEnd.Tests.Infrastructure;
using NostrRelay.Hosting;
using NostrRelay.Sync;

namespace NostrRelay.EndToEnd.Tests;

/// <summary>
/// NIP-77: the client sends <c>["NEG-OPEN", id, filter, initialMessage]</c>, the relay "selects the set of events that
/// it has locally that match the filter" and the two alternate <c>["NEG-MSG", id, message]</c> until the client
/// knows "IDs it has (and relay needs) and IDs it needs (and relay has)"; "if a request cannot be serviced by the
/// relay", <c>["NEG-ERR", id, reason]</c>, e.g. <c>blocked</c> ("the maximum number of records ... can optionally be
/// returned as the 4th element") or <c>closed</c> ("relays may choose to time-out inactive queries"). The client side
/// is nostr-tools' own negentropy (tests/js/negentropy.mjs); frame bounds are checked with this project's initiator.
/// </summary>
[Collection(RelayCollection.Name)]
public sealed class Nip77NegentropyTests(RelayFixture fixture)
{
    private static string RandomId() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));

    /// <summary>tests/js/negentropy.mjs: nostr-tools reconciles <paramref name="records"/> with the relay's matches of the filter.</summary>
    private static async Task<JsonElement> ReconcileAsync(Uri relay, string filter, IEnumerable<(long CreatedAt, string Id)> records,
        int frameSizeLimit = 60_000, string? secretKey = null)
    {
        var start = new ProcessStartInfo("node")
        {
            WorkingDirectory = Path.Combine(RepositoryRoot.Path, "tests", "js"),
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in new[] { "negentropy.mjs", relay.ToString(), filter, frameSizeLimit.ToString() }) start.ArgumentList.Add(argument);
        if (secretKey is not null) start.ArgumentList.Add(secretKey);
        using var node = Process.Start(start)!;
        await node.StandardInput.WriteAsync(JsonSerializer.Serialize(records.Select(r => new object[] { r.CreatedAt, r.Id })));
        node.StandardInput.Close();
        var output = node.StandardOutput.ReadToEndAsync();
        var errors = node.StandardError.ReadToEndAsync();
        await node.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(120));
        Assert.True(node.ExitCode == 0, await errors);
        return JsonDocument.Parse(await output).RootElement;
    }

    private static HashSet<string> Ids(JsonElement result, string side) => [.. result.GetProperty(side).EnumerateArray().Select(e => e.GetString()!)];

    private async Task<List<SignedEvent>> PublishAsync(string key, int count, long firstSecond, int perSecond)
    {
        var events = new List<SignedEvent>();
        for (var i = 0; i < count; i++) events.Add(await fixture.Tools.SignAsync(key, 1, $"note {i}", createdAt: firstSecond + i / perSecond));
        await using var client = await fixture.ConnectAsync();
        foreach (var evt in events) Assert.Equal((true, ""), await client.PublishAsync(evt));
        return events;
    }

    [Fact]
    public async Task nostr_tools_learns_what_each_side_lacks_over_several_rounds_with_created_at_ties()
    {
        var key = NostrTools.NewSecretKey();
        var first = DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 100_000;
        var published = await PublishAsync(key, 600, first, perSecond: 4);   // four events in each second: ties by id
        var relayOnly = published.Where((_, i) => i % 20 == 3).ToList();
        // Many records the relay lacks (ids alone, the relay never sees them), some in the relay's own seconds: the
        // client's id lists outgrow its 4,096-byte frames and the work spreads over rounds.
        var clientOnly = Enumerable.Range(0, 400).Select(i => (CreatedAt: first + i * 3 / 8, Id: RandomId())).ToList();
        var clientRecords = published.Except(relayOnly).Select(e => (e.CreatedAt, e.Id)).Concat(clientOnly);

        var result = await ReconcileAsync(fixture.Relay.Url, $$"""{"authors":["{{published[0].Pubkey}}"]}""", clientRecords, frameSizeLimit: 4096);

        Assert.False(result.TryGetProperty("error", out _), result.ToString());
        Assert.Equal(relayOnly.Select(e => e.Id).ToHashSet(), Ids(result, "need"));
        Assert.Equal(clientOnly.Select(r => r.Id).ToHashSet(), Ids(result, "have"));
        Assert.True(result.GetProperty("rounds").GetInt32() >= 4, $"{result.GetProperty("rounds")} rounds");
    }

    [Fact]
    public async Task a_filter_with_a_limit_reconciles_its_newest_matches_only()
    {
        var key = NostrTools.NewSecretKey();
        var published = await PublishAsync(key, 12, DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 1000, perSecond: 1);

        var result = await ReconcileAsync(fixture.Relay.Url, $$"""{"authors":["{{published[0].Pubkey}}"],"limit":5}""", []);

        Assert.Equal(published.TakeLast(5).Select(e => e.Id).ToHashSet(), Ids(result, "need"));
    }

    [Fact]
    public async Task a_direct_message_is_reconciled_only_with_its_parties()
    {
        var alice = NostrTools.NewSecretKey();
        var bob = NostrTools.NewSecretKey();
        var bobPubkey = await fixture.Tools.PublicKeyAsync(bob);
        var dm = await fixture.Tools.SignAsync(alice, 4, "ciphertext?iv=x", [["p", bobPubkey]]);
        var note = await fixture.Tools.SignAsync(alice, 1, "a public note");
        await using (var client = await fixture.ConnectAsync())
        {
            Assert.True((await client.PublishAsync(dm)).Accepted);
            Assert.True((await client.PublishAsync(note)).Accepted);
        }
        var filter = $$"""{"authors":["{{dm.Pubkey}}"]}""";

        var stranger = await ReconcileAsync(fixture.Relay.Url, filter, []);
        var authenticatedStranger = await ReconcileAsync(fixture.Relay.Url, filter, [], secretKey: NostrTools.NewSecretKey());
        var recipient = await ReconcileAsync(fixture.Relay.Url, filter, [], secretKey: bob);
        var askingForDms = await ReconcileAsync(fixture.Relay.Url, $$"""{"kinds":[4],"authors":["{{dm.Pubkey}}"]}""", []);

        Assert.Equal([note.Id], Ids(stranger, "need"));
        Assert.Equal([note.Id], Ids(authenticatedStranger, "need"));
        Assert.Equal(new[] { note.Id, dm.Id }.Order(), Ids(recipient, "need").Order());
        Assert.StartsWith("auth-required:", askingForDms.GetProperty("error").GetString());
    }

    [Fact]
    public async Task malformed_negentropy_messages_get_a_reason_and_the_connection_keeps_working()
    {
        await using var client = await fixture.ConnectAsync();
        var opening = Convert.ToHexStringLower(new Negentropy(NegentropySet.Empty).Initiate());
        async Task<JsonElement> AskAsync(string frame, string id)
        {
            await client.SendAsync(frame);
            return await client.ExpectAsync(f => (Frames.Is(f, "NEG-MSG") || Frames.Is(f, "NEG-ERR") || Frames.Is(f, "NOTICE")) && (Frames.Is(f, "NOTICE") || f[1].GetString() == id));
        }

        var notHex = await AskAsync("""["NEG-OPEN","a",{},"zz"]""", "a");
        var oddLength = await AskAsync("""["NEG-OPEN","b",{},"610"]""", "b");
        var truncated = await AskAsync("""["NEG-OPEN","c",{},"6100"]""", "c");
        var badFilter = await AskAsync($$"""["NEG-OPEN","d",{"kinds":"1"},"{{opening}}"]""", "d");
        var nextVersion = await AskAsync("""["NEG-OPEN","e",{"ids":[]},"62000000"]""", "e");
        var unknownSession = await AskAsync("""["NEG-MSG","nobody","6100"]""", "nobody");
        var noSubscriptionId = await AskAsync("""["NEG-OPEN",7,{},"61"]""", "");
        var tooLarge = await AskAsync($$"""["NEG-MSG","e","{{new string('0', 300_000)}}"]""", "e");
        var stillWorks = await AskAsync($$"""["NEG-OPEN","f",{"ids":["{{RandomId()}}"]},"{{opening}}"]""", "f");
        await client.SendAsync("""["NEG-CLOSE","f"]""");
        var afterClose = await AskAsync("""["NEG-MSG","f","6100"]""", "f");

        Assert.Equal("NEG-ERR", notHex[0].GetString());
        Assert.Equal("invalid: the negentropy message is not hex", notHex[2].GetString());
        Assert.Equal("invalid: the negentropy message must be a non-empty hex string of whole bytes", oddLength[2].GetString());
        Assert.Equal("invalid: message ends early", truncated[2].GetString());
        Assert.StartsWith("invalid: kinds", badFilter[2].GetString());
        Assert.Equal(["NEG-MSG", "e", "61"], nextVersion.EnumerateArray().Select(e => e.GetString()));
        Assert.StartsWith("closed:", unknownSession[2].GetString());
        Assert.Equal("NOTICE", noSubscriptionId[0].GetString());
        Assert.Equal("invalid: message is larger than 262144 bytes", tooLarge[1].GetString());
        // The relay's own id list for the whole range, as empty as the client's: version, bound infinity, mode 2, count 0.
        Assert.Equal(["NEG-MSG", "f", "6100000200"], stillWorks.EnumerateArray().Select(e => e.GetString()));
        Assert.StartsWith("closed:", afterClose[2].GetString());
    }

    [Fact]
    public async Task the_relays_messages_stay_within_its_frame_limit_and_a_large_set_still_reconciles()
    {
        await using var relay = await RelayServer.StartAsync("Relay:Negentropy:FrameSizeLimit=4096");
        var key = NostrTools.NewSecretKey();
        var events = new List<SignedEvent>();
        for (var i = 0; i < 400; i++) events.Add(await fixture.Tools.SignAsync(key, 1, $"n{i}", createdAt: 1_700_000_000 + i / 3));
        await using var client = await TestClient.ConnectAsync(relay.Url);
        foreach (var evt in events) Assert.Equal((true, ""), await client.PublishAsync(evt));

        // An empty client: the relay owes it every id, 12,800 bytes of them, in 4,096-byte messages.
        var initiator = new Negentropy(NegentropySet.Empty);
        var have = new List<byte[]>();
        var need = new List<byte[]>();
        var message = initiator.Initiate();
        var answers = new List<int>();
        while (message is not null)
        {
            await client.SendAsync(JsonSerializer.Serialize(new[] { answers.Count == 0 ? "NEG-OPEN" : "NEG-MSG", "big" }.Cast<object>()
                .Concat(answers.Count == 0 ? [new { authors = new[] { events[0].Pubkey } }] : []).Append(Convert.ToHexStringLower(message))));
            var answer = await client.ExpectAsync(f => Frames.Is(f, "NEG-MSG") || Frames.Is(f, "NEG-ERR"));
            Assert.Equal("NEG-MSG", answer[0].GetString());
            var bytes = Convert.FromHexString(answer[2].GetString()!);
            answers.Add(bytes.Length);
            message = initiator.ReconcileAsInitiator(bytes, have, need);
        }

        Assert.Equal(events.Select(e => e.Id).ToHashSet(), need.Select(Convert.ToHexStringLower).ToHashSet());
        Assert.Empty(have);
        Assert.True(answers.Count >= 4, $"{answers.Count} answers");
        Assert.All(answers, length => Assert.InRange(length, 1, 4096));
    }

    [Fact]
    public async Task a_relay_refuses_more_records_or_sessions_than_it_allows_and_closes_idle_sessions()
    {
        await using var relay = await RelayServer.StartAsync("Relay:Negentropy:MaxRecords=5", "Relay:Negentropy:MaxSessions=1", "Relay:Negentropy:IdleTimeout=00:00:01");
        var key = NostrTools.NewSecretKey();
        await using var client = await TestClient.ConnectAsync(relay.Url);
        var events = new List<SignedEvent>();
        for (var i = 0; i < 6; i++) events.Add(await fixture.Tools.SignAsync(key, 1, $"n{i}"));
        foreach (var evt in events) Assert.Equal((true, ""), await client.PublishAsync(evt));
        var opening = Convert.ToHexStringLower(new Negentropy(NegentropySet.Empty).Initiate());
        async Task<JsonElement> OpenAsync(string id, string filter)
        {
            await client.SendAsync($$"""["NEG-OPEN","{{id}}",{{filter}},"{{opening}}"]""");
            return await client.ExpectAsync(f => (Frames.Is(f, "NEG-MSG") || Frames.Is(f, "NEG-ERR")) && f[1].GetString() == id);
        }

        var tooMany = await OpenAsync("all", $$"""{"authors":["{{events[0].Pubkey}}"]}""");
        var five = await OpenAsync("five", $$"""{"authors":["{{events[0].Pubkey}}"],"limit":5}""");
        var second = await OpenAsync("second", $$"""{"ids":["{{events[0].Id}}"]}""");
        var idle = await client.ExpectAsync(f => Frames.Is(f, "NEG-ERR") && f[1].GetString() == "five", TimeSpan.FromSeconds(10));
        var afterIdle = await OpenAsync("third", $$"""{"ids":["{{events[0].Id}}"]}""");

        Assert.Equal("NEG-ERR", tooMany[0].GetString());
        Assert.Equal("blocked: this filter matches more than 5 events; narrow it with since and until", tooMany[2].GetString());
        Assert.Equal(5, tooMany[3].GetInt32());
        Assert.Equal("NEG-MSG", five[0].GetString());
        Assert.StartsWith("blocked: too many negentropy sessions on this connection (at most 1)", second[2].GetString());
        Assert.Equal("closed: the session was idle for more than 1 s", idle[2].GetString());
        Assert.Equal("NEG-MSG", afterIdle[0].GetString());
    }

    [Fact]
    public async Task a_relay_with_negentropy_turned_off_says_so_and_does_not_advertise_it()
    {
        await using var relay = await RelayServer.StartAsync("Relay:Negentropy:Enabled=false");
        await using var client = await TestClient.ConnectAsync(relay.Url);
        await client.SendAsync($$"""["NEG-OPEN","x",{},"{{Convert.ToHexStringLower(new Negentropy(NegentropySet.Empty).Initiate())}}"]""");

        var refused = await client.ExpectAsync(f => Frames.Is(f, "NEG-ERR"));
        var nips = (await InformationDocument.FetchAsync(relay.HttpUrl)).GetProperty("supported_nips").EnumerateArray().Select(e => e.GetInt32());

        Assert.Equal("blocked: negentropy syncing (NIP-77) is not enabled on this relay", refused[2].GetString());
        Assert.DoesNotContain(77, nips);
    }

    [Fact]
    public async Task an_embedders_filter_rewrite_applies_and_a_per_event_delivery_hook_keeps_reconciliation_off()
    {
        await using var rewriting = await RelayServer.StartAsync(null, builder => builder.Services.Configure<RelayOptions>(relay =>
            relay.RewriteFilter.Add((filter, _) => filter with { Kinds = [1] })));
        await using var vetoing = await RelayServer.StartAsync(null, builder => builder.Services.Configure<RelayOptions>(relay =>
            relay.RejectDelivery.Add((evt, _) => evt.Content == "hidden")));
        var key = NostrTools.NewSecretKey();
        var note = await fixture.Tools.SignAsync(key, 1, "a note");
        var reaction = await fixture.Tools.SignAsync(key, 7, "+");
        await using (var client = await TestClient.ConnectAsync(rewriting.Url))
        {
            Assert.True((await client.PublishAsync(note)).Accepted);
            Assert.True((await client.PublishAsync(reaction)).Accepted);
        }

        var rewritten = await ReconcileAsync(rewriting.Url, $$"""{"authors":["{{note.Pubkey}}"]}""", []);
        var vetoed = await ReconcileAsync(vetoing.Url, "{}", []);

        Assert.Equal([note.Id], Ids(rewritten, "need"));
        Assert.Equal("blocked: this relay decides per event who may read it, so it does not reconcile", vetoed.GetProperty("error").GetString());
    }
}
