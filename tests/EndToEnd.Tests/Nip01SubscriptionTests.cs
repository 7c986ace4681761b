using System.Text.Json;
using NostrRelay.EndToEnd.Tests.Infrastructure;

namespace NostrRelay.EndToEnd.Tests;

/// <summary>
/// NIP-01 subscriptions: "Relays ... send EOSE to indicate the end of stored events and the beginning of
/// events newly received in real-time"; results are ordered by created_at descending, ties by lowest id;
/// "limit ... only valid for the initial query"; a REQ with an existing id replaces that subscription.
/// </summary>
[Collection(RelayCollection.Name)]
public sealed class Nip01SubscriptionTests(RelayFixture fixture)
{
    private async Task<List<SignedEvent>> PublishAsync(TestClient client, string sk, int count, int kind = 1, string[][]? tags = null, long? baseTime = null)
    {
        var start = baseTime ?? DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 1000;
        var events = new List<SignedEvent>();
        for (var i = 0; i < count; i++)
        {
            var evt = await fixture.Tools.SignAsync(sk, kind, $"note {i}", tags, start + i);
            Assert.True((await client.PublishAsync(evt)).Accepted);
            events.Add(evt);
        }
        return events;
    }

    [Fact]
    public async Task each_filter_field_selects_exactly_its_events()
    {
        await using var client = await fixture.ConnectAsync();
        var alice = NostrTools.NewSecretKey();
        var bob = NostrTools.NewSecretKey();
        var tag = "t" + Guid.NewGuid().ToString("N")[..8];
        var t0 = DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 500;
        var a1 = await fixture.Tools.SignAsync(alice, 1, "a1", [["t", tag]], t0);
        var a7 = await fixture.Tools.SignAsync(alice, 7, "+", [["t", tag], ["e", new string('0', 64)]], t0 + 1);
        var b1 = await fixture.Tools.SignAsync(bob, 1, "b1", [["t", tag]], t0 + 2);
        foreach (var e in new[] { a1, a7, b1 }) Assert.True((await client.PublishAsync(e)).Accepted);

        async Task<string[]> Ids(object filter) => (await client.QueryAsync("f", filter)).Select(Frames.Id).ToArray();

        Assert.Equal([a7.Id], await Ids(new { ids = new[] { a7.Id } }));
        Assert.Equal([a7.Id, a1.Id], await Ids(new { authors = new[] { a1.Pubkey } }));
        Assert.Equal([b1.Id, a1.Id], await Ids(new Dictionary<string, object> { ["kinds"] = new[] { 1 }, ["#t"] = new[] { tag } }));
        Assert.Equal([b1.Id, a7.Id, a1.Id], await Ids(new Dictionary<string, object> { ["#t"] = new[] { tag } }));
        Assert.Equal([a7.Id], await Ids(new Dictionary<string, object> { ["#t"] = new[] { tag }, ["#e"] = new[] { new string('0', 64) } }));
        Assert.Equal([b1.Id, a7.Id], await Ids(new Dictionary<string, object> { ["#t"] = new[] { tag }, ["since"] = t0 + 1 }));
        Assert.Equal([a7.Id, a1.Id], await Ids(new Dictionary<string, object> { ["#t"] = new[] { tag }, ["until"] = t0 + 1 }));
        Assert.Empty(await Ids(new { ids = Array.Empty<string>() }));
    }

    [Fact]
    public async Task results_come_newest_first_with_ties_broken_by_lowest_id_and_limit_keeps_the_newest()
    {
        await using var client = await fixture.ConnectAsync();
        var sk = NostrTools.NewSecretKey();
        var t = DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 300;
        var events = new List<SignedEvent>();
        for (var i = 0; i < 6; i++) events.Add(await fixture.Tools.SignAsync(sk, 1, $"n{i}", createdAt: t + i / 2));
        foreach (var e in events) Assert.True((await client.PublishAsync(e)).Accepted);
        var expected = events.OrderByDescending(e => e.CreatedAt).ThenBy(e => e.Id, StringComparer.Ordinal).Select(e => e.Id).ToArray();

        var all = (await client.QueryAsync("all", new { authors = new[] { events[0].Pubkey } })).Select(Frames.Id).ToArray();
        var limited = (await client.QueryAsync("lim", new { authors = new[] { events[0].Pubkey }, limit = 3 })).Select(Frames.Id).ToArray();

        Assert.Equal(expected, all);
        Assert.Equal(expected[..3], limited);
    }

    [Fact]
    public async Task a_multi_filter_req_applies_each_limit_and_sends_each_event_once()
    {
        await using var client = await fixture.ConnectAsync();
        var sk = NostrTools.NewSecretKey();
        var notes = await PublishAsync(client, sk, 4, kind: 1);
        var reactions = await PublishAsync(client, sk, 3, kind: 7, baseTime: DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 900);
        var pubkey = notes[0].Pubkey;

        var got = await client.QueryAsync("multi",
            new { authors = new[] { pubkey }, kinds = new[] { 1 }, limit = 2 },
            new { authors = new[] { pubkey }, kinds = new[] { 7 }, limit = 1 },
            new { ids = new[] { notes[3].Id } });

        var ids = got.Select(Frames.Id).ToList();
        Assert.Equal(ids.Distinct().Count(), ids.Count);
        var all = notes.Concat(reactions).OrderByDescending(e => e.CreatedAt).ThenBy(e => e.Id, StringComparer.Ordinal).Select(e => e.Id).ToList();
        var expected = new HashSet<string> { notes[3].Id, notes[2].Id, reactions[2].Id };
        Assert.Equal(all.Where(expected.Contains), ids);
    }

    [Fact]
    public async Task stored_events_come_before_eose_and_new_ones_after_it()
    {
        await using var subscriber = await fixture.ConnectAsync();
        await using var publisher = await fixture.ConnectAsync();
        var sk = NostrTools.NewSecretKey();
        var old = await PublishAsync(publisher, sk, 2);

        await subscriber.SendAsync(Frames.Req("s", new { authors = new[] { old[0].Pubkey } }));
        var first = await subscriber.NextAsync();
        var second = await subscriber.NextAsync();
        var eose = await subscriber.NextAsync();
        var fresh = await fixture.Tools.SignAsync(sk, 1, "fresh");
        Assert.True((await publisher.PublishAsync(fresh)).Accepted);
        var live = await subscriber.NextAsync();

        Assert.Equal([old[1].Id, old[0].Id], new[] { Frames.Id(first[2]), Frames.Id(second[2]) });
        Assert.True(Frames.Is(eose, "EOSE"));
        Assert.Equal("s", eose[1].GetString());
        Assert.True(Frames.Is(live, "EVENT"));
        Assert.Equal(fresh.Id, Frames.Id(live[2]));
    }

    [Fact]
    public async Task after_close_no_more_events_arrive_for_that_subscription()
    {
        await using var subscriber = await fixture.ConnectAsync();
        await using var publisher = await fixture.ConnectAsync();
        var sk = NostrTools.NewSecretKey();
        var pubkey = await fixture.Tools.PublicKeyAsync(sk);
        await subscriber.QueryAsync("gone", new { authors = new[] { pubkey } });
        await subscriber.QueryAsync("kept", new { authors = new[] { pubkey } });

        await subscriber.SendAsync(Frames.Close("gone"));
        var evt = await fixture.Tools.SignAsync(sk, 1, "after close");
        Assert.True((await publisher.PublishAsync(evt)).Accepted);

        await subscriber.ExpectAsync(f => Frames.IsFor(f, "kept") && Frames.Is(f, "EVENT"));
        Assert.True(await subscriber.NoneArrivesAsync(f => Frames.IsFor(f, "gone"), TimeSpan.FromMilliseconds(300)));
    }

    [Fact]
    public async Task a_req_with_an_existing_id_replaces_the_subscription()
    {
        await using var subscriber = await fixture.ConnectAsync();
        await using var publisher = await fixture.ConnectAsync();
        var alice = NostrTools.NewSecretKey();
        var bob = NostrTools.NewSecretKey();
        await subscriber.QueryAsync("same", new { authors = new[] { await fixture.Tools.PublicKeyAsync(alice) } });
        await subscriber.QueryAsync("same", new { authors = new[] { await fixture.Tools.PublicKeyAsync(bob) } });

        var fromAlice = await fixture.Tools.SignAsync(alice, 1, "alice");
        var fromBob = await fixture.Tools.SignAsync(bob, 1, "bob");
        Assert.True((await publisher.PublishAsync(fromAlice)).Accepted);
        Assert.True((await publisher.PublishAsync(fromBob)).Accepted);

        var live = await subscriber.ExpectAsync(f => Frames.Is(f, "EVENT"));
        Assert.Equal(fromBob.Id, Frames.Id(live[2]));
        Assert.True(await subscriber.NoneArrivesAsync(f => Frames.Is(f, "EVENT"), TimeSpan.FromMilliseconds(300)));
    }

    [Fact]
    public async Task a_live_event_matching_several_filters_of_one_subscription_is_sent_once()
    {
        await using var subscriber = await fixture.ConnectAsync();
        await using var publisher = await fixture.ConnectAsync();
        var sk = NostrTools.NewSecretKey();
        var pubkey = await fixture.Tools.PublicKeyAsync(sk);
        var tag = Guid.NewGuid().ToString("N");
        await subscriber.QueryAsync("many", new { authors = new[] { pubkey } }, new { kinds = new[] { 1 }, limit = 0 },
            new Dictionary<string, object> { ["#t"] = new[] { tag } });

        var evt = await fixture.Tools.SignAsync(sk, 1, "matches thrice", [["t", tag]]);
        Assert.True((await publisher.PublishAsync(evt)).Accepted);

        await subscriber.ExpectAsync(f => Frames.Is(f, "EVENT") && Frames.Id(f[2]) == evt.Id);
        Assert.True(await subscriber.NoneArrivesAsync(f => Frames.Is(f, "EVENT") && Frames.Id(f[2]) == evt.Id, TimeSpan.FromMilliseconds(300)));
    }

    [Fact]
    public async Task a_bare_req_returns_at_most_the_default_limit()
    {
        await using var relay = await RelayServer.StartAsync("Relay:Limits:DefaultLimit=3", "Relay:Limits:MaxLimit=4");
        await using var client = await TestClient.ConnectAsync(relay.Url);
        await PublishAsync(client, NostrTools.NewSecretKey(), 6);

        Assert.Equal(3, (await client.QueryAsync("bare", new { })).Count);
        Assert.Equal(4, (await client.QueryAsync("big", new { limit = 1000 })).Count);
    }

    [Fact]
    public async Task invalid_filters_are_closed_with_an_invalid_reason()
    {
        await using var client = await fixture.ConnectAsync();
        string[] bad =
        [
            """["REQ","x1",{"ids":["abc"]}]""",
            """["REQ","x2",{"authors":["ABCDEF0000000000000000000000000000000000000000000000000000000000"]}]""",
            """["REQ","x3",{"kinds":["1"]}]""",
            """["REQ","x4",{"since":"yesterday"}]""",
            """["REQ","x5",{"limit":-1}]""",
            """["REQ","x6",{"#e":"not-a-list"}]""",
            """["REQ","x7",["not an object"]]""",
            """["REQ","x8"]""",
        ];
        for (var i = 0; i < bad.Length; i++)
        {
            await client.SendAsync(bad[i]);
            var closed = await client.ExpectAsync(f => Frames.IsFor(f, $"x{i + 1}"));
            Assert.True(Frames.Is(closed, "CLOSED"), closed.ToString());
            Assert.StartsWith("invalid:", closed[2].GetString());
        }
    }

    [Fact]
    public async Task more_subscriptions_than_the_limit_are_closed_with_a_reason()
    {
        await using var relay = await RelayServer.StartAsync("Relay:Limits:MaxSubscriptions=2");
        await using var client = await TestClient.ConnectAsync(relay.Url);
        await client.QueryAsync("one", new { kinds = new[] { 1 } });
        await client.QueryAsync("two", new { kinds = new[] { 1 } });

        await client.SendAsync(Frames.Req("three", new { kinds = new[] { 1 } }));
        var closed = await client.ExpectAsync(f => Frames.IsFor(f, "three"));

        Assert.True(Frames.Is(closed, "CLOSED"));
        Assert.StartsWith("blocked:", closed[2].GetString());
        await client.SendAsync(Frames.Close("one"));
        Assert.Empty(await client.QueryAsync("three", new { ids = new[] { new string('f', 64) } }));
    }

    [Fact]
    public async Task unsupported_messages_get_an_answer_that_says_so()
    {
        await using var client = await fixture.ConnectAsync();

        await client.SendAsync("""["HELLO"]""");
        var unknown = await client.NextAsync();

        Assert.True(Frames.Is(unknown, "NOTICE"));
        Assert.StartsWith("invalid:", unknown[1].GetString());
    }
}
