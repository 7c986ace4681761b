using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
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
        int[] contentLengths = [0, 10, 200, 65_600, 5, 99_000, 1, 30];
        var (pubkey, published) = await PublishHistoryAsync(relay, 120, i => new string((char)('a' + i % 26), contentLengths[i % contentLengths.Length]));

        var received = await QueryAsync(relay, pubkey);

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
        var (pubkey, published) = await PublishHistoryAsync(relay, 40, i => new string((char)('a' + i % 26), 60_000));

        var received = await QueryAsync(relay, pubkey);

        Assert.Equal(published.Select(e => e.Id).Reverse(), received.Select(e => e.GetProperty("id").GetString()));
    }

    [Fact]
    public async Task a_page_of_small_stored_events_reaches_a_reading_client_whole_under_a_small_outbound_bound()
    {
        // Far less than the page (about 170 KB of frames): what is held for a batch must go out before it reaches that.
        await using var relay = await RelayServer.StartAsync("Relay:MaxOutboundBytes=32768");
        var (pubkey, published) = await PublishHistoryAsync(relay, 250, i => $"small {i} " + new string('s', i % 3 == 0 ? 600 : 100));

        var received = await QueryAsync(relay, pubkey);

        Assert.Equal(published.Select(e => e.Id).Reverse(), received.Select(e => e.GetProperty("id").GetString()));
    }

    [Fact]
    public async Task a_client_that_reads_slowly_gets_every_frame_whole_once_it_reads()
    {
        await using var relay = await RelayServer.StartAsync();
        var (pubkey, published) = await PublishHistoryAsync(relay, 100, i => $"long {i} " + new string((char)('a' + i % 26), 60_000));
        var waitedBefore = TransportStream.SendsThatWaited;

        // 6 MB of history, more than the two sockets buffer, and a client that does not read for a while: the relay's
        // sends find the socket full and finish later.
        using var socket = new ClientWebSocket();
        using var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (context, cancellationToken) =>
            {
                var tcp = new Socket(SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = 4096, NoDelay = true };
                await tcp.ConnectAsync(context.DnsEndPoint, cancellationToken);
                return new NetworkStream(tcp, ownsSocket: true);
            },
        };
        using var invoker = new HttpMessageInvoker(handler);
        await socket.ConnectAsync(relay.Url, invoker, CancellationToken.None);
        var req = JsonSerializer.Serialize(new object[] { "REQ", "slow", new { authors = new[] { pubkey } } });
        await socket.SendAsync(Encoding.UTF8.GetBytes(req), WebSocketMessageType.Text, true, CancellationToken.None);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (TransportStream.SendsThatWaited == waitedBefore && DateTime.UtcNow < deadline) await Task.Delay(20);
        Assert.True(TransportStream.SendsThatWaited > waitedBefore, "no send found the socket full");

        var received = new List<JsonElement>();
        using var reader = new MessageReader(socket);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        while (await reader.NextAsync(timeout.Token) is { } frame && !Frames.Is(frame, "EOSE"))
        {
            if (Frames.Is(frame, "AUTH")) continue;   // the challenge every connection is sent first
            Assert.Equal("EVENT", frame[0].GetString());
            received.Add(frame[2]);
        }

        Assert.Equal(published.Select(e => e.Id).Reverse(), received.Select(e => e.GetProperty("id").GetString()));
        var byId = published.ToDictionary(e => e.Id);
        Assert.All(received, e => Assert.Equal(JsonDocument.Parse(byId[e.GetProperty("id").GetString()!].Json).RootElement.GetProperty("content").GetString(),
            e.GetProperty("content").GetString()));
    }

    /// <summary>One new author's notes with these contents, a second apart, oldest first.</summary>
    private async Task<(string Pubkey, List<SignedEvent> Published)> PublishHistoryAsync(RelayServer relay, int count, Func<int, string> content)
    {
        await using var publisher = await TestClient.ConnectAsync(relay.Url);
        var key = NostrTools.NewSecretKey();
        var t0 = DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 1_000;
        var published = new List<SignedEvent>(count);
        for (var i = 0; i < count; i++)
        {
            var evt = await fixture.Tools.SignAsync(key, 1, content(i), createdAt: t0 + i);
            Assert.True((await publisher.PublishAsync(evt)).Accepted);
            published.Add(evt);
        }
        return (await fixture.Tools.PublicKeyAsync(key), published);
    }

    /// <summary>Every stored event of the author, from a new connection.</summary>
    private static async Task<List<JsonElement>> QueryAsync(RelayServer relay, string pubkey)
    {
        await using var reader = await TestClient.ConnectAsync(relay.Url);
        return await reader.QueryAsync("history", new { authors = new[] { pubkey } });
    }
}
