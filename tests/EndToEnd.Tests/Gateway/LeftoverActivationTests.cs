using System.Collections.Concurrent;
using System.Net.WebSockets;
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
/// Around a failover two activations of a shard's subscription grain can both be alive, and a REQ's call can reach the
/// one its gateway has moved on from. That activation's answer is refused, and it retires: the gateway registers the
/// REQ again on the current one rather than leave the client waiting for an EOSE that never comes. The gateway's own
/// types, from the relay running in this process, around a grain that records the calls it gets.
/// </summary>
[Collection(RelayCollection.Name)]
public sealed class LeftoverActivationTests(RelayFixture fixture)
{
    [Fact]
    public async Task a_req_answered_by_a_leftover_activation_is_registered_again_and_one_that_had_its_eose_is_not()
    {
        var grain = new CallRecordingGrain();
        var shard = new GatewayShard("leftover/0", grain);
        var leftover = Guid.NewGuid();
        var current = Guid.NewGuid();
        shard.Activation = leftover;
        shard.Activation = current;   // the gateway moved on: the first is retired
        var connection = Connect(shard, 7);

        await connection.Subscriptions.OpenAsync("answered", [new Filter { Kinds = [1] }]);
        await connection.Subscriptions.OpenAsync("waiting", [new Filter { Kinds = [7] }]);
        Assert.Equal(["answered", "waiting"], grain.Subscribed);
        await shard.DeliverAsync(new DeliveryBatch([Delivery.EndOfStoredEvents(7, "answered")], current, 1));

        // The leftover answers both (its page of stored events, its EOSEs): refused, and only the REQ still waiting is registered again.
        var refused = await shard.DeliverAsync(new DeliveryBatch(
            [Delivery.EndOfStoredEvents(7, "waiting"), Delivery.EndOfStoredEvents(7, "answered"), Delivery.EndOfStoredEvents(7, "waiting")], leftover, 9));
        Assert.False(refused.Accepted);
        Assert.True(await grain.SubscribedAtLeastAsync(3));
        await Task.Delay(200);
        Assert.Equal(["answered", "waiting", "waiting"], grain.Subscribed);
    }

    private RelayConnection Connect(GatewayShard shard, long id)
    {
        var services = fixture.Relay.Services;
        var socket = WebSocket.CreateFromStream(new MemoryStream(), new WebSocketCreationOptions { IsServer = true });
        var connection = new RelayConnection(id, new ClientContext(id, null), socket, shard, services.GetRequiredService<IOptions<RelayOptions>>().Value,
            services.GetRequiredService<ClientMessages>(), services.GetRequiredService<IGrainFactory>(), new ClusterCallWatch(watching: false),
            services.GetRequiredService<PolicyPipeline>(), services.GetRequiredService<RelayMetrics>(), NullLogger.Instance);
        shard.Add(connection);
        return connection;
    }

    /// <summary>Stands where the shard's subscription grain would: records the REQs registered with it.</summary>
    private sealed class CallRecordingGrain : ISubscriptionGrain
    {
        private readonly ConcurrentQueue<string> _subscribed = new();

        public string[] Subscribed => [.. _subscribed];

        public async Task<bool> SubscribedAtLeastAsync(int count)
        {
            for (var i = 0; i < 100 && _subscribed.Count < count; i++) await Task.Delay(50);
            return _subscribed.Count >= count;
        }

        public Task SubscribeAsync(long connectionId, string subscriptionId, Filter[] filters)
        {
            _subscribed.Enqueue(subscriptionId);
            return Task.CompletedTask;
        }

        public Task<Guid> AttachAsync(IGatewayShardObserver observer) => Task.FromResult(Guid.Empty);
        public Task ResumeAsync(long connectionId, string subscriptionId, Filter[] filters, ResumePoint from) => Task.CompletedTask;
        public Task UnsubscribeAsync(long connectionId, string subscriptionId) => Task.CompletedTask;
        public Task DisconnectAsync(long connectionId) => Task.CompletedTask;
        public Task PublishAsync(EventBatch batch) => Task.CompletedTask;
        public Task DrainedAsync(long connectionId, int episode) => Task.CompletedTask;
        public Task CloseAllAsync(string reason) => Task.CompletedTask;
    }
}
