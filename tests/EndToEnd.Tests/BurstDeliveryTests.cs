using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Text;
using NostrRelay.EndToEnd.Tests.Infrastructure;
using NostrRelay.Testing;

namespace NostrRelay.EndToEnd.Tests;

/// <summary>
/// A publisher sending as fast as the relay takes its EVENTs, to many live subscribers at once: each of them gets
/// every event, and none is closed because the burst outran the relay's own hand-over from its subscription shard to
/// the gateway (a shard used to hold 65,536 deliveries for its gateway; 200 subscribers filled that in 330 events).
/// </summary>
[Collection(RelayCollection.Name)]
public sealed class BurstDeliveryTests(RelayFixture fixture)
{
    private const int Subscribers = 200;
    private const int Events = 1_500;

    [Fact]
    public async Task a_burst_reaches_every_live_subscriber_whole()
    {
        var key = RandomNumberGenerator.GetBytes(32);
        var pubkey = NativeSchnorrSigner.Shared.PublicKeyHex(key);
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var frames = Enumerable.Range(0, Events)
            .Select(i => Encoding.UTF8.GetBytes($"[\"EVENT\",{Encoding.UTF8.GetString(NativeSchnorrSigner.Shared.Sign(key, now, 1, [], $"burst {i}").Json)}]"))
            .ToArray();
        var req = Encoding.UTF8.GetBytes($"[\"REQ\",\"burst\",{{\"authors\":[\"{pubkey}\"],\"since\":{now - 1}}}]");

        var subscribers = new List<CountingSubscriber>();
        try
        {
            for (var i = 0; i < Subscribers; i++) subscribers.Add(await CountingSubscriber.StartAsync(fixture.Relay.Url, req));
            using var publisher = new ClientWebSocket();
            await publisher.ConnectAsync(fixture.Relay.Url, CancellationToken.None);
            var oks = CountOksAsync(publisher);
            foreach (var frame in frames) await publisher.SendAsync(frame, WebSocketMessageType.Text, true, CancellationToken.None);
            Assert.Equal(Events, await oks.WaitAsync(TimeSpan.FromSeconds(60)));

            await Task.WhenAll(subscribers.Select(s => s.Done)).WaitAsync(TimeSpan.FromSeconds(60));
            Assert.All(subscribers, s => Assert.Null(s.Closed));
            Assert.All(subscribers, s => Assert.Equal(Events, s.Received));
        }
        finally
        {
            foreach (var subscriber in subscribers) subscriber.Dispose();
        }
    }

    private static async Task<int> CountOksAsync(ClientWebSocket socket)
    {
        var buffer = new byte[64 * 1024];
        var accepted = 0;
        while (accepted < Events)
        {
            var length = 0;
            ValueWebSocketReceiveResult result;
            do
            {
                result = await socket.ReceiveAsync(buffer.AsMemory(length), CancellationToken.None);
                length += result.Count;
            }
            while (!result.EndOfMessage);
            var frame = buffer.AsSpan(0, length);
            if (frame.StartsWith("[\"OK\""u8))
            {
                Assert.True(frame.IndexOf(",true,"u8) > 0, Encoding.UTF8.GetString(frame));
                accepted++;
            }
        }
        return accepted;
    }

    /// <summary>One subscriber that counts the EVENT frames of its subscription and notes a CLOSED.</summary>
    private sealed class CountingSubscriber : IDisposable
    {
        private readonly ClientWebSocket _socket = new();
        private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public int Received { get; private set; }
        public string? Closed { get; private set; }
        public Task Done => _done.Task;

        public static async Task<CountingSubscriber> StartAsync(Uri url, byte[] req)
        {
            var subscriber = new CountingSubscriber();
            await subscriber._socket.ConnectAsync(url, CancellationToken.None);
            await subscriber._socket.SendAsync(req, WebSocketMessageType.Text, true, CancellationToken.None);
            _ = subscriber.ReadAsync();
            return subscriber;
        }

        private async Task ReadAsync()
        {
            var buffer = new byte[64 * 1024];
            try
            {
                while (Received < Events)
                {
                    var length = 0;
                    ValueWebSocketReceiveResult result;
                    do
                    {
                        result = await _socket.ReceiveAsync(buffer.AsMemory(length), CancellationToken.None);
                        if (result.MessageType == WebSocketMessageType.Close) return;
                        length += result.Count;
                    }
                    while (!result.EndOfMessage);
                    var frame = buffer.AsSpan(0, length);
                    if (frame.StartsWith("[\"EVENT\",\"burst\""u8)) Received++;
                    else if (frame.StartsWith("[\"CLOSED\""u8))
                    {
                        Closed = Encoding.UTF8.GetString(frame);
                        return;
                    }
                }
            }
            catch (Exception ex) when (ex is WebSocketException or ObjectDisposedException)
            {
            }
            finally
            {
                _done.TrySetResult();
            }
        }

        public void Dispose()
        {
            _socket.Abort();
            _socket.Dispose();
        }
    }
}
