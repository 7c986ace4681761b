using System.Diagnostics;
using System.Security.Cryptography;
using System.Text.Json;
using NostrRelay.EndToEnd.Tests.Infrastructure;

namespace NostrRelay.EndToEnd.Tests;

/// <summary>
/// NIP-45: <c>["COUNT", &lt;query_id&gt;, &lt;filters JSON&gt;...]</c> is answered with <c>{"count": &lt;integer&gt;}</c>;
/// "Multiple filters are OR'd together and aggregated into a single count result"; relays "may return an HyperLogLog
/// value together with the count, hex-encoded", which clients merge across relays; "Whenever the relay decides to
/// refuse to fulfill the COUNT request, it MUST return a CLOSED message" (the NIP's own example:
/// "auth-required: cannot count other people's DMs"). Counts are asked with nostr-tools' <c>countWithHLL</c> and
/// checked against what nostr-tools computes from every matching event read with a REQ.
/// </summary>
[Collection(RelayCollection.Name)]
public sealed class Nip45CountTests(RelayFixture fixture)
{
    private static string RandomId() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));

    /// <summary>tests/js/count.mjs: nostr-tools' count, and its own count and HyperLogLog of every match read back.</summary>
    private async Task<JsonElement> CountAsync(string filters, string? secretKey = null)
    {
        var start = new ProcessStartInfo("node")
        {
            WorkingDirectory = Path.Combine(RepositoryRoot.Path, "tests", "js"),
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in new[] { "count.mjs", fixture.Relay.Url.ToString(), filters }) start.ArgumentList.Add(argument);
        if (secretKey is not null) start.ArgumentList.Add(secretKey);
        using var node = Process.Start(start)!;
        var output = node.StandardOutput.ReadToEndAsync();
        var errors = node.StandardError.ReadToEndAsync();
        await node.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        Assert.True(node.ExitCode == 0, await errors);
        return JsonDocument.Parse(await output).RootElement;
    }

    private async Task PublishAllAsync(IEnumerable<SignedEvent> events)
    {
        await using var client = await fixture.ConnectAsync();
        foreach (var evt in events) Assert.Equal((true, ""), await client.PublishAsync(evt));
    }

    [Fact]
    public async Task a_reaction_count_comes_with_the_hyperloglog_nostr_tools_makes_of_every_reaction()
    {
        var target = RandomId();
        var events = new List<SignedEvent>();
        for (var i = 0; i < 30; i++)
        {
            var key = NostrTools.NewSecretKey();
            events.Add(await fixture.Tools.SignAsync(key, 7, "+", [["e", target]]));
            if (i % 5 == 0) events.Add(await fixture.Tools.SignAsync(key, 1, "a reply, not a reaction", [["e", target]]));
        }
        await PublishAllAsync(events);

        var counted = await CountAsync($$"""[{"#e":["{{target}}"],"kinds":[7]}]""");

        Assert.Equal(30, counted.GetProperty("count").GetInt64());
        Assert.Equal(30, counted.GetProperty("read").GetInt32());
        Assert.Equal(512, counted.GetProperty("hll").GetString()!.Length);
        Assert.Equal(counted.GetProperty("readHll").GetString(), counted.GetProperty("hll").GetString());
    }

    [Fact]
    public async Task several_filters_count_each_matching_event_once()
    {
        var topic = "count-" + RandomId()[..12];
        var alice = NostrTools.NewSecretKey();
        var bob = NostrTools.NewSecretKey();
        var alicePubkey = await fixture.Tools.PublicKeyAsync(alice);
        var events = new List<SignedEvent>();
        for (var i = 0; i < 4; i++) events.Add(await fixture.Tools.SignAsync(alice, 1, $"alice's note {i}", [["t", topic]]));
        for (var i = 0; i < 3; i++) events.Add(await fixture.Tools.SignAsync(bob, 1, $"bob's note {i}", [["t", topic]]));
        for (var i = 0; i < 2; i++) events.Add(await fixture.Tools.SignAsync(alice, 7, i == 0 ? "+" : "🤙", [["t", topic]]));
        await PublishAllAsync(events);

        // Alice's notes match both filters and are counted once.
        var counted = await CountAsync($$"""[{"#t":["{{topic}}"],"kinds":[1]},{"#t":["{{topic}}"],"authors":["{{alicePubkey}}"]}]""");

        Assert.Equal(9, counted.GetProperty("count").GetInt64());
        Assert.Equal(9, counted.GetProperty("read").GetInt32());
        Assert.Equal(counted.GetProperty("readHll").GetString(), counted.GetProperty("hll").GetString());
    }

    [Fact]
    public async Task direct_messages_are_counted_only_for_their_authenticated_parties()
    {
        var alice = NostrTools.NewSecretKey();
        var bob = NostrTools.NewSecretKey();
        var carol = NostrTools.NewSecretKey();
        var bobPubkey = await fixture.Tools.PublicKeyAsync(bob);
        await PublishAllAsync(
        [
            await fixture.Tools.SignAsync(alice, 4, "ciphertext?iv=x", [["p", bobPubkey]]),
            await fixture.Tools.SignAsync(carol, 1, "hello bob, in public", [["p", bobPubkey]]),
        ]);
        var mentions = $$"""[{"#p":["{{bobPubkey}}"]}]""";
        var directMessages = $$"""[{"#p":["{{bobPubkey}}"],"kinds":[4]}]""";

        var anonymous = await CountAsync(mentions);
        var anonymousDms = await CountAsync(directMessages);
        var asBob = await CountAsync(mentions, bob);
        var bobsDms = await CountAsync(directMessages, bob);
        var carolsAsk = await CountAsync(directMessages, carol);

        Assert.Equal(1, anonymous.GetProperty("count").GetInt64());      // the public mention only
        Assert.Equal("auth-required: direct messages and gift wraps are shown only to their parties: authenticate first", anonymousDms.GetProperty("closed").GetString());
        Assert.Equal(2, asBob.GetProperty("count").GetInt64());
        Assert.Equal(2, asBob.GetProperty("read").GetInt32());
        Assert.Equal(1, bobsDms.GetProperty("count").GetInt64());
        Assert.Equal("restricted: direct messages and gift wraps: name your own pubkey in authors or #p", carolsAsk.GetProperty("closed").GetString());
    }

    [Fact]
    public async Task a_count_without_filters_or_with_a_bad_one_is_answered_with_a_reason()
    {
        await using var client = await fixture.ConnectAsync();

        await client.SendAsync("""["COUNT","q1"]""");
        var noFilter = await client.NextAsync();
        await client.SendAsync("""["COUNT","q2",{"kinds":"seven"}]""");
        var badFilter = await client.NextAsync();
        await client.SendAsync("""["COUNT",7,{}]""");
        var badId = await client.NextAsync();
        await client.SendAsync("""["COUNT","q3",{"kinds":[1],"limit":1,"ids":[]}]""");
        var nothing = await client.NextAsync();

        Assert.Equal("""["CLOSED","q1","invalid: COUNT needs at least one filter"]""", noFilter.GetRawText());
        Assert.True(Frames.Is(badFilter, "CLOSED") && badFilter[2].GetString()!.StartsWith("invalid:", StringComparison.Ordinal), badFilter.GetRawText());
        Assert.True(Frames.Is(badId, "NOTICE") && badId[1].GetString()!.StartsWith("invalid:", StringComparison.Ordinal), badId.GetRawText());
        Assert.Equal("""["COUNT","q3",{"count":0}]""", nothing.GetRawText());
    }
}
