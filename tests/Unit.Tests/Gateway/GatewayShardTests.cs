using NostrRelay.Connections;
using NostrRelay.Grains;

namespace NostrRelay.Unit.Tests.Gateway;

/// <summary>The gateway shard itself: a batch sent again is answered without its frames being handed to any connection.</summary>
public sealed class GatewayShardTests
{
    [Fact]
    public async Task a_batch_sent_again_is_answered_without_being_handed_on()
    {
        var activation = Guid.NewGuid();
        var shard = new GatewayShard("gw/0", null!) { Activation = activation };
        var batch = new DeliveryBatch([Delivery.EndOfStoredEvents(9, "sub")], activation, 1);

        var first = await shard.DeliverAsync(batch);
        Assert.Equal([9L], first.Gone!);   // handed on: connection 9 is not here, and the grain is told so
        var again = await shard.DeliverAsync(batch);
        // The first answer itself, not one made by handing the frames on again; the grain still learns 9 is gone.
        Assert.Same(first, again);

        var next = await shard.DeliverAsync(batch with { Number = 2 });
        Assert.Equal([9L], next.Gone!);
        Assert.NotSame(first, next);
    }
}
