using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using NostrRelay.EndToEnd.Tests.Infrastructure;

namespace NostrRelay.EndToEnd.Tests;

/// <summary>
/// Token-bucket rate limits (<c>Relay:Limits</c>). NIP-01: "rate-limited" is a machine-readable prefix for OK false
/// and CLOSED; a refused WebSocket upgrade is answered HTTP 429 Too Many Requests with the same prefix in its body.
/// Each test has its own relay, so no bucket is shared with another test.
/// </summary>
[Collection(RelayCollection.Name)]
public sealed class RateLimitTests(RelayFixture fixture)
{
    [Fact]
    public async Task past_the_burst_an_address_is_rate_limited_on_every_connection_until_the_bucket_refills()
    {
        await using var relay = await RelayServer.StartAsync("Relay:Limits:EventsPerSecondPerIp=1", "Relay:Limits:EventsBurstPerIp=2");
        await using var client = await TestClient.ConnectAsync(relay.Url);
        await using var secondConnection = await TestClient.ConnectAsync(relay.Url);
        var sk = NostrTools.NewSecretKey();
        var events = new List<SignedEvent>();
        for (var i = 0; i < 4; i++) events.Add(await fixture.Tools.SignAsync(sk, 1, $"event {i}"));

        var first = await client.PublishAsync(events[0]);
        var second = await client.PublishAsync(events[1]);
        var third = await client.PublishAsync(events[2]);
        var fromSecondConnection = await secondConnection.PublishAsync(events[3]);

        Assert.True(first.Accepted, first.Message);
        Assert.True(second.Accepted, second.Message);
        Assert.False(third.Accepted);
        Assert.Equal("rate-limited: slow down: at most 1 event a second from one address", third.Message);
        Assert.False(fromSecondConnection.Accepted);
        Assert.StartsWith("rate-limited:", fromSecondConnection.Message);
        Assert.Empty(await client.QueryAsync("q", new { ids = new[] { events[2].Id } }));
        Assert.True(await PublishesWithinAsync(client, events[2], TimeSpan.FromSeconds(3)), "the bucket never refilled");
    }

    [Fact]
    public async Task past_the_burst_an_authenticated_pubkey_is_rate_limited_whoever_wrote_its_events_and_anonymous_clients_are_not()
    {
        await using var relay = await RelayServer.StartAsync("Relay:Limits:EventsPerSecondPerAuthedPubkey=1", "Relay:Limits:EventsBurstPerAuthedPubkey=2");
        await using var authenticated = await TestClient.ConnectAsync(relay.Url);
        await using var anonymous = await TestClient.ConnectAsync(relay.Url);
        var auth = await fixture.Tools.AuthAsync(NostrTools.NewSecretKey(), relay.Url.ToString(), await authenticated.ChallengeAsync());
        Assert.Equal((true, ""), await authenticated.PublishRawAsync(auth.Id, $"[\"AUTH\",{auth.Json}]"));
        var events = new List<SignedEvent>();
        for (var i = 0; i < 3; i++) events.Add(await fixture.Tools.SignAsync(NostrTools.NewSecretKey(), 1, $"relayed {i}"));   // three other authors
        var fromAnonymous = new List<SignedEvent>();
        for (var i = 0; i < 3; i++) fromAnonymous.Add(await fixture.Tools.SignAsync(NostrTools.NewSecretKey(), 1, $"anonymous {i}"));

        var results = new List<(bool Accepted, string Message)>();
        foreach (var evt in events) results.Add(await authenticated.PublishAsync(evt));
        var anonymousResults = new List<(bool Accepted, string Message)>();
        foreach (var evt in fromAnonymous) anonymousResults.Add(await anonymous.PublishAsync(evt));

        Assert.Equal([(true, ""), (true, ""), (false, "rate-limited: slow down: at most 1 event a second from one authenticated pubkey")], results);
        Assert.All(anonymousResults, result => Assert.Equal((true, ""), result));
    }

    [Fact]
    public async Task past_the_burst_an_author_is_rate_limited_while_another_author_on_the_same_connection_is_not()
    {
        await using var relay = await RelayServer.StartAsync("Relay:Limits:EventsPerSecondPerPubkey=1", "Relay:Limits:EventsBurstPerPubkey=2");
        await using var client = await TestClient.ConnectAsync(relay.Url);
        var busy = NostrTools.NewSecretKey();
        var events = new List<SignedEvent>();
        for (var i = 0; i < 3; i++) events.Add(await fixture.Tools.SignAsync(busy, 1, $"event {i}"));
        var fromOther = await fixture.Tools.SignAsync(NostrTools.NewSecretKey(), 1, "someone else");

        var results = new List<(bool Accepted, string Message)>();
        foreach (var evt in events) results.Add(await client.PublishAsync(evt));
        var other = await client.PublishAsync(fromOther);

        Assert.True(results[0].Accepted, results[0].Message);
        Assert.True(results[1].Accepted, results[1].Message);
        Assert.False(results[2].Accepted);
        Assert.Equal("rate-limited: slow down: at most 1 event a second from one author", results[2].Message);
        Assert.True(other.Accepted, other.Message);
    }

    [Fact]
    public async Task past_the_burst_a_req_is_closed_as_rate_limited()
    {
        await using var relay = await RelayServer.StartAsync("Relay:Limits:ReqsPerSecondPerIp=1", "Relay:Limits:ReqsBurstPerIp=2");
        await using var client = await TestClient.ConnectAsync(relay.Url);
        var evt = await fixture.Tools.SignAsync(NostrTools.NewSecretKey(), 1, "to find");
        Assert.True((await client.PublishAsync(evt)).Accepted);

        var first = await client.QueryAsync("first", new { ids = new[] { evt.Id } });
        var second = await client.QueryAsync("second", new { ids = new[] { evt.Id } });
        await client.SendAsync(Frames.Req("third", new { ids = new[] { evt.Id } }));
        var third = await client.ExpectAsync(f => Frames.IsFor(f, "third"));

        Assert.Single(first);
        Assert.Single(second);
        Assert.True(Frames.Is(third, "CLOSED"), third.ToString());
        Assert.Equal("rate-limited: slow down: at most 1 REQ a second from one address", third[2].GetString());
    }

    [Fact]
    public async Task a_rate_limited_req_that_reuses_an_open_subscription_id_ends_that_subscription()
    {
        await using var relay = await RelayServer.StartAsync("Relay:Limits:ReqsPerSecondPerIp=0.2", "Relay:Limits:ReqsBurstPerIp=2");
        await using var client = await TestClient.ConnectAsync(relay.Url);
        var sk = NostrTools.NewSecretKey();
        var filter = new { authors = new[] { await fixture.Tools.PublicKeyAsync(sk) } };
        await client.QueryAsync("replaced", filter);
        await client.QueryAsync("witness", filter);

        await client.SendAsync(Frames.Req("replaced", filter));
        var closed = await client.ExpectAsync(f => Frames.IsFor(f, "replaced"));
        Assert.True(Frames.Is(closed, "CLOSED"), closed.ToString());
        Assert.StartsWith("rate-limited:", closed[2].GetString());

        // NIP-01: a REQ overwrites the subscription of the same id, and CLOSED ends it: nothing more may come for it.
        var evt = await fixture.Tools.SignAsync(sk, 1, "live");
        Assert.True((await client.PublishAsync(evt)).Accepted);
        await client.ExpectAsync(f => Frames.IsFor(f, "witness") && Frames.Is(f, "EVENT"));
        Assert.True(await client.NoneArrivesAsync(f => Frames.IsFor(f, "replaced"), TimeSpan.FromMilliseconds(300)),
            "the subscription the relay said was CLOSED still delivers events");
    }

    [Fact]
    public async Task past_the_connection_limit_the_upgrade_is_refused_with_429_until_a_connection_closes()
    {
        await using var relay = await RelayServer.StartAsync("Relay:Limits:ConnectionsPerIp=2");
        var first = await TestClient.ConnectAsync(relay.Url);
        await using var second = await TestClient.ConnectAsync(relay.Url);

        var (status, body) = await UpgradeAsync(relay);
        var document = await InformationDocument.FetchAsync(relay.HttpUrl);   // plain HTTP is not a connection slot

        Assert.Equal(429, status);
        Assert.StartsWith("rate-limited:", body);
        Assert.True(document.TryGetProperty("limitation", out _));
        await first.DisposeAsync();
        await using var third = await ConnectWithinAsync(relay.Url, TimeSpan.FromSeconds(5));
        var evt = await fixture.Tools.SignAsync(NostrTools.NewSecretKey(), 1, "through the freed slot");
        Assert.True((await third.PublishAsync(evt)).Accepted);
    }

    /// <summary>Publishes <paramref name="evt"/> again every 100 ms until it is accepted or the time is up.</summary>
    private static async Task<bool> PublishesWithinAsync(TestClient client, SignedEvent evt, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var (accepted, message) = await client.PublishAsync(evt);
            if (accepted) return true;
            Assert.StartsWith("rate-limited:", message);
            if (DateTime.UtcNow > deadline) return false;
            await Task.Delay(100);   // waiting for the bucket's clock, not for the relay
        }
    }

    /// <summary>Opens a WebSocket, trying again every 100 ms while the relay answers 429, until the time is up.</summary>
    private static async Task<TestClient> ConnectWithinAsync(Uri url, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            try
            {
                return await TestClient.ConnectAsync(url);
            }
            catch (WebSocketException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(100);   // waiting for the relay to count the closed connection out
            }
        }
    }

    /// <summary>A WebSocket upgrade request written by hand, so the refusal's status and body can be read.</summary>
    private static async Task<(int Status, string Body)> UpgradeAsync(RelayServer relay)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync("127.0.0.1", relay.Port);
        var stream = tcp.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(
            $"GET / HTTP/1.1\r\nHost: 127.0.0.1:{relay.Port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"));
        var received = new MemoryStream();
        var buffer = new byte[4096];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        while (true)
        {
            var text = Encoding.UTF8.GetString(received.ToArray());
            var headerEnd = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
            if (headerEnd >= 0 && ParseBody(text[..headerEnd], text[(headerEnd + 4)..]) is { } body)
                return (int.Parse(text.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture), body);
            var read = await stream.ReadAsync(buffer, timeout.Token);
            if (read == 0) throw new IOException("the relay hung up before its answer was complete: " + text);
            received.Write(buffer, 0, read);
        }
    }

    /// <summary>The whole body once it has arrived (Content-Length or chunked), else null.</summary>
    private static string? ParseBody(string headers, string rest)
    {
        var lines = headers.Split("\r\n");
        var length = lines.FirstOrDefault(l => l.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase));
        if (length is not null)
        {
            var bytes = int.Parse(length["Content-Length:".Length..].Trim(), System.Globalization.CultureInfo.InvariantCulture);
            return Encoding.UTF8.GetByteCount(rest) >= bytes ? rest : null;
        }
        if (!lines.Any(l => l.StartsWith("Transfer-Encoding:", StringComparison.OrdinalIgnoreCase) && l.Contains("chunked"))) return rest;
        if (!rest.Contains("0\r\n\r\n")) return null;
        var body = new StringBuilder();
        var at = 0;
        while (true)
        {
            var lineEnd = rest.IndexOf("\r\n", at, StringComparison.Ordinal);
            var size = Convert.ToInt32(rest[at..lineEnd].Split(';')[0], 16);
            if (size == 0) return body.ToString();
            body.Append(rest, lineEnd + 2, size);
            at = lineEnd + 2 + size + 2;
        }
    }
}
