using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using NostrRelay.Connections;
using NostrRelay.EndToEnd.Tests.Infrastructure;

namespace NostrRelay.EndToEnd.Tests;

/// <summary>
/// The relay frames what it sends a connection itself and puts several frames into one send: a REQ's stored events,
/// short and long ones together (a long one needs the 64-bit length), reach the client whole and in order.
/// </summary>
[Collection(RelayCollection.Name)]
public sealed class OutboundFramingTests(RelayFixture fixture)
{
    [Fact]
    public async Task stored_events_of_every_frame_length_arrive_whole_newest_first_in_one_reply()
    {
        await using var relay = await RelayServer.StartAsync();
        await using var publisher = await TestClient.ConnectAsync(relay.Url);
        var key = NostrTools.NewSecretKey();
        var pubkey = await fixture.Tools.PublicKeyAsync(key);
        var t0 = DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 1_000;
        int[] contentLengths = [0, 10, 200, 65_600, 5, 99_000, 1, 30];
        var published = new List<SignedEvent>();
        for (var i = 0; i < 120; i++)
        {
            var content = new string((char)('a' + i % 26), contentLengths[i % contentLengths.Length]);
            var evt = await fixture.Tools.SignAsync(key, 1, content, createdAt: t0 + i);
            Assert.True((await publisher.PublishAsync(evt)).Accepted);
            published.Add(evt);
        }

        await using var reader = await TestClient.ConnectAsync(relay.Url);
        var received = await reader.QueryAsync("all", new { authors = new[] { pubkey } });

        Assert.Equal(published.Select(e => e.Id).Reverse(), received.Select(e => e.GetProperty("id").GetString()));
        Assert.Equal(2, relay.Services.GetRequiredService<DirectUpgrades>().WrittenStraight);   // the path under test ran
        var byId = published.ToDictionary(e => e.Id);
        Assert.All(received, e => Assert.Equal(JsonDocument.Parse(byId[e.GetProperty("id").GetString()!].Json).RootElement.GetProperty("content").GetString(),
            e.GetProperty("content").GetString()));
    }

    [Fact]
    public async Task a_page_of_large_stored_events_bigger_than_the_outbound_bound_reaches_a_reading_client_whole()
    {
        // A page of stored events is read up to 1 MiB; this connection may have half that queued.
        await using var relay = await RelayServer.StartAsync("Relay:MaxOutboundBytes=524288");
        await using var publisher = await TestClient.ConnectAsync(relay.Url);
        var key = NostrTools.NewSecretKey();
        var pubkey = await fixture.Tools.PublicKeyAsync(key);
        var t0 = DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 1_000;
        var published = new List<string>();
        for (var i = 0; i < 40; i++)
        {
            var evt = await fixture.Tools.SignAsync(key, 1, new string((char)('a' + i % 26), 60_000), createdAt: t0 + i);
            Assert.True((await publisher.PublishAsync(evt)).Accepted);
            published.Add(evt.Id);
        }

        await using var reader = await TestClient.ConnectAsync(relay.Url);
        var received = await reader.QueryAsync("large", new { authors = new[] { pubkey } });

        Assert.Equal(Enumerable.Reverse(published), received.Select(e => e.GetProperty("id").GetString()));
    }

    [Fact]
    public async Task a_page_of_small_stored_events_reaches_a_reading_client_whole_under_a_small_outbound_bound()
    {
        // Far less than the page (about 170 KB of frames): what is held for a batch must go out before it reaches that.
        await using var relay = await RelayServer.StartAsync("Relay:MaxOutboundBytes=32768");
        await using var publisher = await TestClient.ConnectAsync(relay.Url);
        var key = NostrTools.NewSecretKey();
        var pubkey = await fixture.Tools.PublicKeyAsync(key);
        var t0 = DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 1_000;
        var published = new List<string>();
        for (var i = 0; i < 250; i++)
        {
            var evt = await fixture.Tools.SignAsync(key, 1, $"small {i} " + new string('s', i % 3 == 0 ? 600 : 100), createdAt: t0 + i);
            Assert.True((await publisher.PublishAsync(evt)).Accepted);
            published.Add(evt.Id);
        }

        await using var reader = await TestClient.ConnectAsync(relay.Url);
        var received = await reader.QueryAsync("small", new { authors = new[] { pubkey } });

        Assert.Equal(Enumerable.Reverse(published), received.Select(e => e.GetProperty("id").GetString()));
    }
}
