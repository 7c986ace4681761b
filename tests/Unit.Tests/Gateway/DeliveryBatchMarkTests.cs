using NostrRelay.Connections;
using NostrRelay.Grains;
using NostrRelay.Protocol;

namespace NostrRelay.Unit.Tests.Gateway;

/// <summary>A delivery batch a shard sends again after its answer was lost reaches the gateway's connections once.</summary>
public sealed class DeliveryBatchMarkTests
{
    private static readonly Guid Activation = Guid.NewGuid();

    private static NostrEvent Event(int n) =>
        new($"{n:x16}{new string('0', 48)}", new string('a', 64), 1_700_000_000 + n, 1, [], "", new string('b', 128), []);

    private static DeliveryBatch Batch(params int[] events) =>
        new([.. events.Select(n => Delivery.ForEvent(7, "feed", Event(n)))], Activation);

    [Fact]
    public void a_batch_sent_again_is_taken_once_and_the_next_one_is_delivered()
    {
        var shard = new GatewayShard("shard", null!) { Activation = Activation };
        // No connection 7 here: each delivery the shard hands on names it as gone, so the receipt shows what was handed on.
        Assert.Equal([7L], shard.DeliverAsync(Batch(1, 2, 3)).Result.Gone!);
        Assert.Same(DeliveryReceipt.Taken, shard.DeliverAsync(Batch(1, 2, 3)).Result);   // the same frames, a new copy off the wire
        Assert.Equal([7L], shard.DeliverAsync(Batch(4, 5, 6)).Result.Gone!);
        Assert.Equal([7L], shard.DeliverAsync(Batch(1, 2, 4)).Result.Gone!);   // not the batch before: delivered
    }

    [Fact]
    public void marks_tell_batches_apart_by_activation_size_and_their_first_and_last_frames()
    {
        var mark = DeliveryBatchMark.Of(Batch(1, 2, 3));
        Assert.Equal(mark, DeliveryBatchMark.Of(Batch(1, 2, 3)));
        Assert.NotEqual(mark, DeliveryBatchMark.Of(Batch(1, 3)));
        Assert.NotEqual(mark, DeliveryBatchMark.Of(Batch(0, 2, 3)));
        Assert.NotEqual(mark, DeliveryBatchMark.Of(new DeliveryBatch(Batch(1, 2, 3).Items, Guid.NewGuid())));
        Assert.NotEqual(mark, DeliveryBatchMark.Of(new DeliveryBatch([.. Batch(1, 2).Items, Delivery.EndOfStoredEvents(7, "feed")], Activation)));
        Assert.True(DeliveryBatchMark.Of(new DeliveryBatch([], Activation)).IsEmpty);
    }
}
