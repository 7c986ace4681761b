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

    [Fact]
    public async Task resumes_read_from_a_position_the_current_activation_vouched_for_a_second_before()
    {
        var activation = Guid.NewGuid();
        var shard = new GatewayShard("gw/0", null!) { Activation = activation };
        await shard.DeliverAsync(new DeliveryBatch([], activation, 1, Through: 100));
        await shard.DeliverAsync(new DeliveryBatch([], Guid.NewGuid(), 1, Through: 9_999));   // not the one the shard knows
        Assert.Equal(0, shard.ResumeAfter());
        await Task.Delay(TimeSpan.FromMilliseconds(MatchedThrough.SettleMilliseconds + 100));
        Assert.Equal(100, shard.ResumeAfter());

        var next = Guid.NewGuid();
        shard.Activation = next;   // the grain came back elsewhere: its REQs are being resumed from 100
        await shard.DeliverAsync(new DeliveryBatch([], next, 1, Through: 5_000));
        shard.Resumed();
        await shard.DeliverAsync(new DeliveryBatch([], next, 2, Through: 6_000));   // on its way at the last resume
        await Task.Delay(TimeSpan.FromMilliseconds(MatchedThrough.SettleMilliseconds + 100));
        Assert.Equal(100, shard.ResumeAfter());
        await shard.DeliverAsync(new DeliveryBatch([], next, 3, Through: 7_000));   // built after every REQ was back
        await Task.Delay(TimeSpan.FromMilliseconds(MatchedThrough.SettleMilliseconds + 100));
        Assert.Equal(7_000, shard.ResumeAfter());
    }
}
