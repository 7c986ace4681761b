using System.Net;
using System.Net.WebSockets;
using NostrRelay.EndToEnd.Tests.Infrastructure;

namespace NostrRelay.EndToEnd.Tests;

/// <summary>
/// <c>Relay:TrustedProxies</c>: behind an ingress every connection comes from the proxy's address, so per-address
/// limits would lump all clients together. From a listed proxy, X-Forwarded-For names the client; from anyone else it
/// is ignored, so a client cannot dodge its limit by writing the header itself.
/// </summary>
public sealed class TrustedProxyTests
{
    [Fact]
    public async Task behind_a_trusted_proxy_each_forwarded_client_has_its_own_connection_limit()
    {
        await using var relay = await RelayServer.StartAsync("Relay:Limits:ConnectionsPerIp=1", "Relay:TrustedProxies:0=127.0.0.1");

        using var alice = await ConnectAsync(relay, "203.0.113.7");
        using var bob = await ConnectAsync(relay, "198.51.100.9");
        using var aliceAgain = await ConnectAsync(relay, "203.0.113.7");

        Assert.Equal(WebSocketState.Open, alice.State);
        Assert.Equal(WebSocketState.Open, bob.State);
        Assert.Equal(HttpStatusCode.TooManyRequests, aliceAgain.HttpStatusCode);
    }

    [Fact]
    public async Task without_trusted_proxies_a_forwarded_header_is_ignored()
    {
        await using var relay = await RelayServer.StartAsync("Relay:Limits:ConnectionsPerIp=1");

        using var first = await ConnectAsync(relay, "203.0.113.7");
        using var second = await ConnectAsync(relay, "198.51.100.9");

        Assert.Equal(WebSocketState.Open, first.State);
        Assert.Equal(HttpStatusCode.TooManyRequests, second.HttpStatusCode);
    }

    /// <summary>A WebSocket that says it was forwarded for <paramref name="client"/>; refused ones keep their HTTP status.</summary>
    private static async Task<ClientWebSocket> ConnectAsync(RelayServer relay, string client)
    {
        var socket = new ClientWebSocket();
        socket.Options.CollectHttpResponseDetails = true;
        socket.Options.SetRequestHeader("X-Forwarded-For", client);
        try
        {
            await socket.ConnectAsync(relay.Url, CancellationToken.None);
        }
        catch (WebSocketException)
        {
            // Refused before the upgrade: HttpStatusCode says why.
        }
        return socket;
    }
}
