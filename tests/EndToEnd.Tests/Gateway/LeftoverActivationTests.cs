using NostrRelay.Connections;
using NostrRelay.EndToEnd.Tests.Infrastructure;
using NostrRelay.Grains;
using NostrRelay.Protocol;

namespace NostrRelay.EndToEnd.Tests.Gateway;

/// <summary>
/// Around a failover two activations of a shard's subscription grain can both be alive, and a REQ's call can reach the
/// one its gateway has moved on from. That activation's answer is refused, and it retires: the gateway registers the
/// REQ again on the current one rather than leave the client waiting for an EOSE that never comes (<see cref="GatewayHarness"/>).
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
        var (connection, _) = GatewayHarness.Connect(fixture, shard, 7);

        await connection.Subscriptions.OpenAsync("answered", [new Filter { Kinds = [1] }]);
        await connection.Subscriptions.OpenAsync("waiting", [new Filter { Kinds = [7] }]);
        var (answered, waiting) = (grain.Subscribed[0], grain.Subscribed[1]);
        Assert.Equal(["answered#1", "waiting#2"], grain.Subscribed);   // each REQ named apart (SubscriptionKey)
        await shard.DeliverAsync(new DeliveryBatch([Delivery.EndOfStoredEvents(7, answered)], current, 1));

        // The leftover answers both (its page of stored events, its EOSEs): refused, and only the REQ still waiting is registered again.
        var refused = await shard.DeliverAsync(new DeliveryBatch(
            [Delivery.EndOfStoredEvents(7, waiting), Delivery.EndOfStoredEvents(7, answered), Delivery.EndOfStoredEvents(7, waiting)], leftover, 9));
        Assert.False(refused.Accepted);
        Assert.True(await grain.SubscribedAtLeastAsync(3));
        await Task.Delay(200);
        Assert.Equal([answered, waiting, waiting], grain.Subscribed);
    }
}
