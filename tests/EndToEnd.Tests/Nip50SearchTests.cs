using NostrRelay.EndToEnd.Tests.Infrastructure;

namespace NostrRelay.EndToEnd.Tests;

/// <summary>
/// NIP-50: a filter's <c>search</c> "describing a query in a human-readable form"; results "in descending order by
/// quality of search result", the limit "applied after sorting"; "key:value pairs ... extensions, relays SHOULD ignore
/// extensions they don't support"; clients "SHOULD use the supported_nips field to learn if a relay supports search".
/// The relay's store here is the default Sqlite (FTS5); one that does not serve search says so.
/// </summary>
[Collection(RelayCollection.Name)]
public sealed class Nip50SearchTests(RelayFixture fixture)
{
    [Fact]
    public async Task stored_events_with_every_word_come_best_match_first_and_live_ones_match_the_same_words()
    {
        var word = "zq" + Guid.NewGuid().ToString("N")[..10];   // a word no other test writes
        var key = NostrTools.NewSecretKey();
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        await using var client = await fixture.ConnectAsync();
        var best = await fixture.Tools.SignAsync(key, 1, $"{word} orleans", createdAt: now - 100);
        var diluted = await fixture.Tools.SignAsync(key, 1, $"a much longer note that mentions {word} and, far later, orleans, among many other words", createdAt: now - 10);
        var oneWord = await fixture.Tools.SignAsync(key, 1, $"{word} alone", createdAt: now - 5);
        foreach (var evt in new[] { best, diluted, oneWord }) Assert.Equal((true, ""), await client.PublishAsync(evt));

        var found = await client.QueryAsync("s", new { search = $"Orleans {word.ToUpperInvariant()} include:spam", limit = 10 });
        var top = await client.QueryAsync("top", new { search = $"orleans {word}", limit = 1 });

        Assert.Equal([best.Id, diluted.Id], found.Select(Frames.Id));
        Assert.Equal([best.Id], top.Select(Frames.Id));

        await client.SendAsync(Frames.Req("live", new { search = $"{word} grains", since = now - 1 }));
        await client.ExpectAsync(f => Frames.Is(f, "EOSE") && Frames.IsFor(f, "live"));
        var missing = await fixture.Tools.SignAsync(key, 1, $"{word} without the other word");
        var matching = await fixture.Tools.SignAsync(key, 1, $"Grains and {word}");
        Assert.Equal((true, ""), await client.PublishAsync(missing));
        Assert.Equal((true, ""), await client.PublishAsync(matching));
        var live = await client.ExpectAsync(f => Frames.Is(f, "EVENT") && Frames.IsFor(f, "live"));
        Assert.Equal(matching.Id, Frames.Id(live[2]));

        await client.SendAsync($$"""["COUNT","c",{"search":"{{word}}"}]""");
        var counted = await client.ExpectAsync(f => Frames.Is(f, "COUNT"));
        Assert.Equal(5, counted[2].GetProperty("count").GetInt64());
        Assert.Contains(50, (await InformationDocument.FetchAsync(fixture.Relay.HttpUrl)).GetProperty("supported_nips").EnumerateArray().Select(e => e.GetInt32()));
    }

    [Fact]
    public async Task a_relay_that_does_not_serve_search_refuses_it_and_does_not_advertise_it()
    {
        // Relay:Search=false, as a gateway-only process in front of a store that cannot search says.
        await using var relay = await RelayServer.StartAsync("Relay:Search=false");
        await using var client = await TestClient.ConnectAsync(relay.Url);

        await client.SendAsync(Frames.Req("s", new { search = "nostr" }));
        var closed = await client.ExpectAsync(f => Frames.IsFor(f, "s"));
        var nips = (await InformationDocument.FetchAsync(relay.HttpUrl)).GetProperty("supported_nips").EnumerateArray().Select(e => e.GetInt32());

        Assert.Equal("""["CLOSED","s","unsupported: search (NIP-50) is not supported by this relay's store"]""", closed.GetRawText());
        Assert.DoesNotContain(50, nips);
    }
}
