using System.Collections.Concurrent;
using System.Net.WebSockets;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using NostrRelay.Connections;
using NostrRelay.EndToEnd.Tests.Infrastructure;
using NostrRelay.Grains;
using NostrRelay.Hosting;
using NostrRelay.Messages;
using NostrRelay.Metrics;
using NostrRelay.Policies;
using NostrRelay.Protocol;

namespace NostrRelay.EndToEnd.Tests.Gateway;

/// <summary>
/// The gateway's own connection types, from the relay running in this process, around a subscription grain that records
/// the calls it gets: a test hands the gateway shard the batches a grain would send, in the order it chooses, and reads
/// the frames the client would get from the socket's bytes.
/// </summary>
internal static class GatewayHarness
{
    public static (RelayConnection Connection, SentFrames Sent) Connect(RelayFixture fixture, GatewayShard shard, long id)
    {
        var services = fixture.Relay.Services;
        var wire = new MemoryStream();
        var socket = WebSocket.CreateFromStream(wire, new WebSocketCreationOptions { IsServer = true });
        var connection = new RelayConnection(id, new ClientContext(id, null), socket, shard, services.GetRequiredService<IOptions<RelayOptions>>().Value,
            services.GetRequiredService<ClientMessages>(), services.GetRequiredService<IGrainFactory>(), new ClusterCallWatch(watching: false),
            services.GetRequiredService<PolicyPipeline>(), services.GetRequiredService<RelayMetrics>(), NullLogger.Instance);
        shard.Add(connection);
        return (connection, new SentFrames(wire));
    }

    public static NostrEvent Event(int n, int kind)
    {
        var id = $"{n:x16}{new string('0', 48)}";
        var json = $$"""{"id":"{{id}}","pubkey":"{{new string('a', 64)}}","created_at":1700000000,"kind":{{kind}},"tags":[],"content":"","sig":"{{new string('b', 128)}}"}""";
        return new NostrEvent(id, new string('a', 64), 1_700_000_000, kind, [], "", new string('b', 128), Encoding.UTF8.GetBytes(json));
    }
}

/// <summary>The text frames a server-side WebSocket wrote into its stream (unmasked, as a server sends them).</summary>
internal sealed class SentFrames(MemoryStream wire)
{
    public string[] Read()
    {
        byte[] bytes;
        lock (wire) bytes = wire.ToArray();
        var frames = new List<string>();
        for (var at = 0; at + 2 <= bytes.Length;)
        {
            var opcode = bytes[at] & 0x0F;
            long length = bytes[at + 1] & 0x7F;
            at += 2;
            if (length == 126) { length = (bytes[at] << 8) | bytes[at + 1]; at += 2; }
            else if (length == 127) { length = (long)System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(bytes.AsSpan(at)); at += 8; }
            if (opcode == 1) frames.Add(Encoding.UTF8.GetString(bytes, at, (int)length));
            at += (int)length;
        }
        return [.. frames];
    }

    /// <summary>The frames once at least <paramref name="count"/> went out (sends finish on the thread that queued them, or soon after).</summary>
    public async Task<string[]> AtLeastAsync(int count)
    {
        for (var i = 0; i < 100; i++)
        {
            var frames = Read();
            if (frames.Length >= count) return frames;
            await Task.Delay(20);
        }
        return Read();
    }
}

/// <summary>Stands where the shard's subscription grain would: records the REQs registered with it and taken off it.</summary>
internal sealed class CallRecordingGrain : ISubscriptionGrain
{
    private readonly ConcurrentQueue<string> _subscribed = new();
    private readonly ConcurrentQueue<string> _unsubscribed = new();

    public string[] Subscribed => [.. _subscribed];
    public string[] Unsubscribed => [.. _unsubscribed];

    public async Task<bool> SubscribedAtLeastAsync(int count)
    {
        for (var i = 0; i < 100 && _subscribed.Count < count; i++) await Task.Delay(50);
        return _subscribed.Count >= count;
    }

    /// <summary>Subscribes that throw after they were recorded, as a call does whose answer was lost after the grain took it.</summary>
    public int FailingSubscribes { get; set; }

    public Task SubscribeAsync(long connectionId, string subscriptionId, Filter[] filters)
    {
        _subscribed.Enqueue(subscriptionId);
        if (FailingSubscribes > 0)
        {
            FailingSubscribes--;
            return Task.FromException(new TimeoutException("the answer was lost"));
        }
        return Task.CompletedTask;
    }

    public Task UnsubscribeAsync(long connectionId, string subscriptionId)
    {
        _unsubscribed.Enqueue(subscriptionId);
        return Task.CompletedTask;
    }

    public Task<Guid> AttachAsync(IGatewayShardObserver observer) => Task.FromResult(Guid.Empty);
    public Task ResumeAsync(long connectionId, string subscriptionId, Filter[] filters, ResumePoint from) => Task.CompletedTask;
    public Task DisconnectAsync(long connectionId) => Task.CompletedTask;
    public Task PublishAsync(EventBatch batch) => Task.CompletedTask;
    public Task DrainedAsync(long connectionId, int episode) => Task.CompletedTask;
    public Task CloseAllAsync(string reason) => Task.CompletedTask;
}
