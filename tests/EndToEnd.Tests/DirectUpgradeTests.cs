using System.Net.Sockets;
using System.Text;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using NostrRelay.Connections;
using NostrRelay.EndToEnd.Tests.Infrastructure;
using NostrRelay.Hosting;
using NostrRelay.Policies;

namespace NostrRelay.EndToEnd.Tests;

/// <summary>
/// WebSocket handshakes answered on the raw connection, ahead of ASP.NET Core's pipeline
/// (<c>Relay:DirectWebSocketUpgrade</c>, on by default): what a client sees is the same as through the pipeline, bytes
/// sent right behind the handshake are not lost, everything else still reaches Kestrel, and a connection that never
/// finishes its request is closed on Kestrel's own timeouts.
/// </summary>
public sealed class DirectUpgradeTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task a_handshake_and_a_REQ_written_in_one_go_are_both_answered(bool direct)
    {
        await using var relay = await RelayServer.StartAsync($"Relay:DirectWebSocketUpgrade={direct}");
        using var client = await RawClient.ConnectAsync(relay);

        await client.WriteAsync([.. Handshake(relay), .. MaskedText("[\"REQ\",\"now\",{\"limit\":0}]")]);

        var head = await client.ReadHeadAsync();
        Assert.StartsWith("HTTP/1.1 101", head);
        Assert.Contains("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", head);
        Assert.StartsWith("[\"AUTH\",", await client.ReadTextAsync());
        Assert.Equal("[\"EOSE\",\"now\"]", await client.ReadTextAsync());
        Assert.Equal(direct ? 1 : 0, relay.Services.GetRequiredService<DirectUpgrades>().Answered);
        Assert.Equal(direct ? 1 : 0, relay.Services.GetRequiredService<DirectUpgrades>().WrittenStraight);
    }

    [Fact]
    public async Task under_an_embedders_connection_middleware_a_direct_websocket_writes_through_it_and_works()
    {
        var logged = new LoggedConnections();
        // Ahead of the relay's own endpoint setup, as an embedder's Kestrel defaults configured before it run.
        await using var relay = await RelayServer.StartAsync(null, builder =>
        {
            builder.Logging.AddProvider(logged);
            builder.Logging.AddFilter<LoggedConnections>(nameof(DirectUpgradeTests), LogLevel.Trace);
            builder.Services.Insert(0, ServiceDescriptor.Singleton<IConfigureOptions<KestrelServerOptions>>(new ConfigureOptions<KestrelServerOptions>(kestrel =>
                kestrel.ConfigureEndpointDefaults(listen => listen.UseConnectionLogging(nameof(DirectUpgradeTests))))));
        });
        await using var client = await TestClient.ConnectAsync(relay.Url);

        Assert.Empty(await client.QueryAsync("through", new { limit = 1 }));

        var upgrades = relay.Services.GetRequiredService<DirectUpgrades>();
        Assert.Equal((1, 0), (upgrades.Answered, upgrades.WrittenStraight));
        Assert.True(logged.Writes > 0);   // the middleware saw what the relay wrote
    }

    /// <summary>Counts the writes Kestrel's connection logging reports.</summary>
    private sealed class LoggedConnections : ILoggerProvider, ILogger
    {
        private int _writes;
        public int Writes => Volatile.Read(ref _writes);
        public ILogger CreateLogger(string categoryName) => categoryName == nameof(DirectUpgradeTests) ? this : Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;
        public void Dispose() { }
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => true;
        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (formatter(state, exception).StartsWith("WriteAsync", StringComparison.Ordinal)) Interlocked.Increment(ref _writes);
        }
    }

    [Fact]
    public async Task a_connection_hook_sends_handshakes_through_the_pipeline_where_it_sees_their_request()
    {
        await using var relay = await RelayServer.StartAsync(null, builder => builder.Services.Configure<RelayOptions>(options =>
            options.RejectConnection.Add(context => context.Request.Headers.UserAgent == "blocked" ? PolicyResult.Blocked("not you") : PolicyResult.Accept)));
        using var client = await RawClient.ConnectAsync(relay);

        await client.WriteAsync(Encoding.ASCII.GetBytes(Encoding.ASCII.GetString(Handshake(relay)).Replace("\r\n\r\n", "\r\nUser-Agent: blocked\r\n\r\n")));

        Assert.StartsWith("HTTP/1.1 403", await client.ReadHeadAsync());
        Assert.Equal(0, relay.Services.GetRequiredService<DirectUpgrades>().Answered);
    }

    [Fact]
    public async Task a_request_whose_lines_end_with_a_bare_line_feed_is_answered_by_kestrel_at_once()
    {
        await using var relay = await RelayServer.StartAsync();
        using var client = await RawClient.ConnectAsync(relay);

        await client.WriteAsync(Encoding.ASCII.GetBytes($"GET /healthz HTTP/1.1\nHost: 127.0.0.1:{relay.Port}\n\n"));

        Assert.StartsWith("HTTP/1.1 200", await client.ReadHeadAsync());
    }

    [Fact]
    public async Task open_WebSockets_do_not_count_toward_kestrels_connection_limit()
    {
        await using var relay = await RelayServer.StartAsync("Kestrel:Limits:MaxConcurrentConnections=2");
        using var first = await RawClient.ConnectAsync(relay);
        using var second = await RawClient.ConnectAsync(relay);
        foreach (var client in new[] { first, second })
        {
            await client.WriteAsync(Handshake(relay));
            Assert.StartsWith("HTTP/1.1 101", await client.ReadHeadAsync());
        }

        using var probe = await RawClient.ConnectAsync(relay);
        await probe.WriteAsync(Encoding.ASCII.GetBytes($"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:{relay.Port}\r\n\r\n"));

        Assert.StartsWith("HTTP/1.1 200", await probe.ReadHeadAsync());
    }

    [Fact]
    public async Task a_handshake_that_arrives_a_few_bytes_at_a_time_is_answered()
    {
        await using var relay = await RelayServer.StartAsync();
        using var client = await RawClient.ConnectAsync(relay);

        var handshake = Handshake(relay);
        for (var at = 0; at < handshake.Length; at += 7)
        {
            await client.WriteAsync(handshake[at..Math.Min(handshake.Length, at + 7)]);
            await Task.Delay(5);
        }

        Assert.StartsWith("HTTP/1.1 101", await client.ReadHeadAsync());
        Assert.StartsWith("[\"AUTH\",", await client.ReadTextAsync());
        await client.WriteAsync(MaskedText("[\"REQ\",\"slow\",{\"limit\":0}]"));
        Assert.Equal("[\"EOSE\",\"slow\"]", await client.ReadTextAsync());
    }

    [Fact]
    public async Task a_NIP11_request_and_then_an_upgrade_on_the_same_connection_are_both_answered()
    {
        await using var relay = await RelayServer.StartAsync();
        using var client = await RawClient.ConnectAsync(relay);

        await client.WriteAsync(Encoding.ASCII.GetBytes($"GET / HTTP/1.1\r\nHost: 127.0.0.1:{relay.Port}\r\nAccept: application/nostr+json\r\n\r\n"));
        var head = await client.ReadHeadAsync();
        Assert.StartsWith("HTTP/1.1 200", head);
        Assert.Contains("application/nostr+json", head);
        Assert.Contains("Transfer-Encoding: chunked", head);
        Assert.Contains("\"supported_nips\"", await client.ReadChunkedAsync());

        await client.WriteAsync(Handshake(relay));
        Assert.StartsWith("HTTP/1.1 101", await client.ReadHeadAsync());
        Assert.StartsWith("[\"AUTH\",", await client.ReadTextAsync());
    }

    [Theory]
    [InlineData(100)]
    [InlineData(9_000)]   // past the most the relay reads before handing a connection to Kestrel
    public async Task a_request_for_NIP11_whose_head_arrives_in_pieces_is_answered(int cookieLength)
    {
        await using var relay = await RelayServer.StartAsync();
        using var client = await RawClient.ConnectAsync(relay);

        var head = Encoding.ASCII.GetBytes($"GET / HTTP/1.1\r\nHost: 127.0.0.1:{relay.Port}\r\nAccept: application/nostr+json\r\n" +
            $"Cookie: {new string('c', cookieLength)}\r\n\r\n");
        foreach (var piece in head.Chunk(head.Length / 3 + 1))
        {
            await client.WriteAsync(piece);
            await Task.Delay(50);
        }

        Assert.StartsWith("HTTP/1.1 200", await client.ReadHeadAsync());
        Assert.Contains("\"supported_nips\"", await client.ReadChunkedAsync());
    }

    [Fact]
    public async Task a_handshake_of_another_WebSocket_version_arriving_in_pieces_gets_the_pipelines_answer()
    {
        await using var relay = await RelayServer.StartAsync();
        using var client = await RawClient.ConnectAsync(relay);

        var handshake = Encoding.ASCII.GetString(Handshake(relay)).Replace("Sec-WebSocket-Version: 13", "Sec-WebSocket-Version: 8");
        await client.WriteAsync(Encoding.ASCII.GetBytes(handshake[..30]));
        await Task.Delay(50);
        await client.WriteAsync(Encoding.ASCII.GetBytes(handshake[30..]));

        // Not a WebSocket request to ASP.NET either: the page for people, as before.
        var head = await client.ReadHeadAsync();
        Assert.StartsWith("HTTP/1.1 200", head);
        Assert.Contains("text/html", head);
    }

    [Fact]
    public async Task an_operators_allowed_hosts_still_refuse_a_handshake_naming_another_host()
    {
        await using var relay = await RelayServer.StartAsync("AllowedHosts=relay.example.com");
        using var client = await RawClient.ConnectAsync(relay);

        await client.WriteAsync(Handshake(relay));

        Assert.StartsWith("HTTP/1.1 400", await client.ReadHeadAsync());
    }

    [Fact]
    public async Task a_connection_that_has_sent_nothing_does_not_hold_up_a_shutdown()
    {
        var relay = await RelayServer.StartAsync();
        await using var _ = relay;
        using var client = await RawClient.ConnectAsync(relay);
        await Task.Delay(200);   // accepted, and waiting for its first byte

        var stopping = System.Diagnostics.Stopwatch.StartNew();
        await relay.StopAsync();

        Assert.True(stopping.Elapsed < TimeSpan.FromSeconds(10), $"stopping took {stopping.Elapsed}");
        Assert.True(await client.ClosedAsync());
    }

    [Fact]
    public async Task an_upgrade_for_another_path_is_not_found_as_before()
    {
        await using var relay = await RelayServer.StartAsync();
        using var client = await RawClient.ConnectAsync(relay);

        await client.WriteAsync(Handshake(relay, "/elsewhere"));

        Assert.StartsWith("HTTP/1.1 404", await client.ReadHeadAsync());
    }

    [Fact]
    public async Task a_connection_that_never_sends_a_byte_is_closed_after_Kestrels_keep_alive_timeout()
    {
        await using var relay = await RelayServer.StartAsync("Kestrel:Limits:KeepAliveTimeout=00:00:01");
        using var client = await RawClient.ConnectAsync(relay);

        var started = DateTime.UtcNow;
        Assert.True(await client.ClosedAsync(), "the relay kept a silent connection open");
        Assert.True(DateTime.UtcNow - started >= TimeSpan.FromSeconds(0.9), "closed before the timeout");
    }

    [Fact]
    public async Task a_handshake_that_stops_halfway_is_closed_after_Kestrels_request_headers_timeout()
    {
        await using var relay = await RelayServer.StartAsync("Kestrel:Limits:RequestHeadersTimeout=00:00:01");
        using var client = await RawClient.ConnectAsync(relay);

        await client.WriteAsync(Handshake(relay)[..40]);

        Assert.True(await client.ClosedAsync(), "the relay kept a half-sent handshake open");
    }

    private static byte[] Handshake(RelayServer relay, string path = "/") => Encoding.ASCII.GetBytes(
        $"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{relay.Port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");

    /// <summary>A client's text frame (short, masked, as RFC 6455 requires of clients).</summary>
    private static byte[] MaskedText(string text)
    {
        var payload = Encoding.UTF8.GetBytes(text);
        byte[] mask = [0x12, 0x34, 0x56, 0x78];
        var frame = new byte[6 + payload.Length];
        frame[0] = 0x81;
        frame[1] = (byte)(0x80 | payload.Length);
        mask.CopyTo(frame, 2);
        for (var i = 0; i < payload.Length; i++) frame[6 + i] = (byte)(payload[i] ^ mask[i % 4]);
        return frame;
    }

    /// <summary>A TCP connection that reads an HTTP head and then the relay's (unmasked, short) text frames.</summary>
    private sealed class RawClient : IDisposable
    {
        private readonly TcpClient _tcp;
        private readonly NetworkStream _stream;
        private readonly List<byte> _received = [];
        private readonly byte[] _buffer = new byte[8192];

        private RawClient(TcpClient tcp)
        {
            _tcp = tcp;
            _stream = tcp.GetStream();
        }

        public static async Task<RawClient> ConnectAsync(RelayServer relay)
        {
            var tcp = new TcpClient { NoDelay = true };
            await tcp.ConnectAsync("127.0.0.1", relay.Port);
            return new RawClient(tcp);
        }

        public Task WriteAsync(byte[] bytes) => _stream.WriteAsync(bytes).AsTask();

        public async Task<string> ReadHeadAsync()
        {
            int end;
            while ((end = IndexOf("\r\n\r\n"u8)) < 0) await FillAsync();
            return Encoding.ASCII.GetString(Take(end + 4).ToArray());
        }

        public async Task<byte[]> ReadBytesAsync(int count)
        {
            while (_received.Count < count) await FillAsync();
            return Take(count);
        }

        /// <summary>A chunked body, whole: its chunks joined.</summary>
        public async Task<string> ReadChunkedAsync()
        {
            var body = new StringBuilder();
            while (true)
            {
                var sizeLine = await ReadLineAsync();
                var size = Convert.ToInt32(sizeLine.Split(';')[0], 16);
                if (size == 0)
                {
                    await ReadLineAsync();   // the blank line after the last chunk
                    return body.ToString();
                }
                body.Append(Encoding.UTF8.GetString(await ReadBytesAsync(size)));
                await ReadLineAsync();
            }
        }

        private async Task<string> ReadLineAsync()
        {
            int end;
            while ((end = IndexOf("\r\n"u8)) < 0) await FillAsync();
            var line = Encoding.ASCII.GetString(Take(end));
            Take(2);
            return line;
        }

        /// <summary>The next text frame's payload; the relay's frames here are under 126 bytes.</summary>
        public async Task<string> ReadTextAsync()
        {
            var header = await ReadBytesAsync(2);
            Assert.Equal(0x81, header[0]);
            var length = header[1] & 0x7F;
            Assert.True(length < 126, "a longer frame than this test reads");
            return Encoding.UTF8.GetString(await ReadBytesAsync(length));
        }

        /// <summary>True once the relay closed the connection (an end of stream or a reset) within the patience.</summary>
        public async Task<bool> ClosedAsync()
        {
            using var timeout = new CancellationTokenSource(Patience);
            try
            {
                while (await _stream.ReadAsync(_buffer, timeout.Token) > 0) { }
                return true;
            }
            catch (IOException)
            {
                return true;
            }
            catch (OperationCanceledException)
            {
                return false;
            }
        }

        private async Task FillAsync()
        {
            using var timeout = new CancellationTokenSource(Patience);
            var read = await _stream.ReadAsync(_buffer, timeout.Token);
            if (read == 0) throw new IOException("the relay closed the connection; received so far: " + Encoding.ASCII.GetString(_received.ToArray()));
            _received.AddRange(_buffer.AsSpan(0, read));
        }

        private int IndexOf(ReadOnlySpan<byte> bytes) => System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_received).IndexOf(bytes);

        private byte[] Take(int count)
        {
            var taken = _received.GetRange(0, count).ToArray();
            _received.RemoveRange(0, count);
            return taken;
        }

        public void Dispose() => _tcp.Dispose();
    }
}
