using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using NostrRelay.EndToEnd.Tests.Infrastructure;

namespace NostrRelay.EndToEnd.Tests;

/// <summary>
/// What a connection may cost the relay: a peer that stops answering pings is dropped after the idle
/// timeout, and a subscriber that stops reading gets its subscription CLOSED instead of an unbounded queue.
/// </summary>
[Collection(RelayCollection.Name)]
public sealed class ConnectionLimitsTests(RelayFixture fixture)
{
    [Fact]
    public async Task a_peer_that_never_answers_pings_is_disconnected_and_a_live_client_is_not()
    {
        await using var relay = await RelayServer.StartAsync("Relay:PingInterval=00:00:00.2", "Relay:IdleTimeout=00:00:00.5");
        await using var healthy = await TestClient.ConnectAsync(relay.Url);
        using var silent = new TcpClient();
        await silent.ConnectAsync("127.0.0.1", relay.Port);
        var stream = silent.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(
            $"GET / HTTP/1.1\r\nHost: 127.0.0.1:{relay.Port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"));

        // Read (and never answer) until the relay hangs up: a 101, then pings, then the end of the stream.
        var received = new MemoryStream();
        var buffer = new byte[4096];
        var started = DateTime.UtcNow;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            int read;
            while ((read = await stream.ReadAsync(buffer, timeout.Token)) > 0) received.Write(buffer, 0, read);
        }
        catch (IOException)
        {
            // a reset is a hang-up too
        }
        var elapsed = DateTime.UtcNow - started;
        var bytes = received.ToArray();

        Assert.StartsWith("HTTP/1.1 101", Encoding.ASCII.GetString(bytes));
        var headerEnd = Encoding.ASCII.GetString(bytes).IndexOf("\r\n\r\n", StringComparison.Ordinal) + 4;
        Assert.Equal(0x81, bytes[headerEnd]);   // FIN + text: the NIP-42 challenge every connection is sent first
        var afterChallenge = headerEnd + 2 + (bytes[headerEnd + 1] & 0x7F);
        Assert.Equal(0x89, bytes[afterChallenge]);   // FIN + ping opcode
        Assert.True(elapsed < TimeSpan.FromSeconds(5), $"disconnected after {elapsed}");
        var evt = await fixture.Tools.SignAsync(NostrTools.NewSecretKey(), 1, "still connected");
        Assert.True((await healthy.PublishAsync(evt)).Accepted);
    }

    [Fact]
    public async Task a_subscriber_that_stops_reading_gets_closed_while_the_publisher_keeps_going()
    {
        await using var relay = await RelayServer.StartAsync("Relay:MaxOutboundBytes=65536");
        await using var publisher = await TestClient.ConnectAsync(relay.Url);
        using var slow = new ClientWebSocket();
        await slow.ConnectAsync(relay.Url, CancellationToken.None);
        var sk = NostrTools.NewSecretKey();
        var pubkey = await fixture.Tools.PublicKeyAsync(sk);
        await slow.SendAsync(Encoding.UTF8.GetBytes(Frames.Req("firehose", new { authors = new[] { pubkey }, limit = 0 })),
            WebSocketMessageType.Text, true, CancellationToken.None);

        // ~24 MB of matching events while the subscriber reads nothing: more than the socket buffers hold.
        var content = new string('x', 60_000);
        for (var i = 0; i < 400; i++)
        {
            var evt = await fixture.Tools.SignAsync(sk, 1, content + i);
            Assert.True((await publisher.PublishAsync(evt)).Accepted);
        }

        var closed = await ReadUntilClosedAsync(slow, "firehose");
        Assert.StartsWith("error:", closed);
    }

    [Fact]
    public async Task a_connection_whose_every_subscription_was_too_slow_is_closed_after_the_grace_period()
    {
        await using var relay = await RelayServer.StartAsync("Relay:MaxOutboundBytes=65536", "Relay:SlowConsumerGrace=00:00:00.5");
        await using var publisher = await TestClient.ConnectAsync(relay.Url);
        await using var healthy = await TestClient.ConnectAsync(relay.Url);
        using var slow = new ClientWebSocket();
        slow.Options.SetBuffer(4096, 4096);
        await slow.ConnectAsync(relay.Url, CancellationToken.None);
        var sk = NostrTools.NewSecretKey();
        var pubkey = await fixture.Tools.PublicKeyAsync(sk);
        await slow.SendAsync(Encoding.UTF8.GetBytes(Frames.Req("firehose", new { authors = new[] { pubkey }, limit = 0 })),
            WebSocketMessageType.Text, true, CancellationToken.None);
        await healthy.QueryAsync("watch", new { authors = new[] { pubkey }, limit = 0 });

        // ~24 MB of matching events while the slow subscriber reads nothing; the healthy one reads each.
        var content = new string('x', 60_000);
        for (var i = 0; i < 400; i++)
        {
            var evt = await fixture.Tools.SignAsync(sk, 1, content + i);
            Assert.True((await publisher.PublishAsync(evt)).Accepted);
            var live = await healthy.ExpectAsync(f => Frames.IsFor(f, "watch") && Frames.Is(f, "EVENT"));
            Assert.Equal(evt.Id, Frames.Id(live[2]));
        }

        // Its subscription was closed as slow, then, still unread after the grace period, the connection itself: what
        // the client finds when it reads again is what its socket already held, the CLOSED, and the close frame.
        var (closedReason, closedStatus) = await ReadUntilEndAsync(slow);
        Assert.StartsWith("error:", closedReason);
        Assert.Equal(WebSocketCloseStatus.PolicyViolation, closedStatus);
        Assert.True((await publisher.PublishAsync(await fixture.Tools.SignAsync(sk, 1, "after"))).Accepted);
    }

    /// <summary>Reads until the relay ends the socket: the reason of the last CLOSED, and the close status (null when it was reset).</summary>
    private static async Task<(string? Closed, WebSocketCloseStatus? Status)> ReadUntilEndAsync(ClientWebSocket socket)
    {
        using var reader = new MessageReader(socket);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        string? closed = null;
        try
        {
            while (await reader.NextAsync(timeout.Token) is { } frame)
                if (Frames.Is(frame, "CLOSED")) closed = frame[2].GetString();
            return (closed, socket.CloseStatus);
        }
        catch (WebSocketException)
        {
            return (closed, null);
        }
    }

    private static async Task<string> ReadUntilClosedAsync(ClientWebSocket socket, string subscriptionId)
    {
        using var reader = new MessageReader(socket);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (true)
        {
            var frame = await reader.NextAsync(timeout.Token) ?? throw new InvalidOperationException("the relay closed the socket before CLOSED");
            if (Frames.Is(frame, "CLOSED") && frame[1].GetString() == subscriptionId) return frame[2].GetString()!;
        }
    }
}
