using NostrRelay.Connections;
using NostrRelay.Grains;

namespace NostrRelay.Unit.Tests.Gateway;

/// <summary>A delivery batch sent again because its answer was lost reaches the clients once, and the grain gets its answer.</summary>
public sealed class TakenBatchesTests
{
    private static readonly Guid First = Guid.NewGuid(), Second = Guid.NewGuid();

    private static DeliveryBatch Batch(Guid activation, long number) => new([], activation, number);

    private static bool Take(TakenBatches taken, DeliveryBatch batch) => taken.TryTake(batch, out _);

    [Fact]
    public void a_batch_sent_again_under_its_number_is_taken_once()
    {
        var taken = new TakenBatches();
        Assert.True(Take(taken, Batch(First, 1)));
        Assert.False(Take(taken, Batch(First, 1)));
        Assert.True(Take(taken, Batch(First, 2)));
        Assert.False(Take(taken, Batch(First, 2)));
        Assert.False(Take(taken, Batch(First, 1)));   // given up on by the grain, and late
    }

    [Fact]
    public void a_batch_sent_again_gets_the_answer_its_first_delivery_got()
    {
        var taken = new TakenBatches();
        var batch = Batch(First, 1);
        var first = new DeliveryReceipt(true, [new Backlog(4, 1)], [9]);
        Assert.True(taken.TryTake(batch, out _));
        Assert.False(taken.TryTake(batch, out var whileRunning));
        Assert.Same(DeliveryReceipt.Taken, whileRunning);   // still being handed on: its answer is not known yet
        taken.Answered(batch, first);
        Assert.False(taken.TryTake(batch, out var again));
        Assert.Same(first, again);
    }

    [Fact]
    public void a_batch_that_could_not_be_handed_on_is_new_when_sent_again()
    {
        var taken = new TakenBatches();
        Assert.True(Take(taken, Batch(First, 1)));
        Assert.True(Take(taken, Batch(First, 2)));
        taken.Failed(Batch(First, 2));
        Assert.True(Take(taken, Batch(First, 2)));
        Assert.False(Take(taken, Batch(First, 1)));
    }

    [Fact]
    public void each_activation_numbers_its_own_batches()
    {
        var taken = new TakenBatches();
        Assert.True(Take(taken, Batch(First, 5)));
        Assert.True(Take(taken, Batch(Second, 1)));
        Assert.True(Take(taken, Batch(First, 6)));
        Assert.False(Take(taken, Batch(Second, 1)));
    }

    [Fact]
    public void batches_of_builds_before_the_numbers_are_always_taken()
    {
        var taken = new TakenBatches();
        Assert.True(Take(taken, Batch(First, 0)));
        Assert.True(Take(taken, Batch(First, 0)));
    }

    [Fact]
    public void a_forgotten_activation_starts_again()
    {
        var taken = new TakenBatches();
        Assert.True(Take(taken, Batch(First, 3)));
        taken.Forget(First);
        Assert.True(Take(taken, Batch(First, 3)));
    }
}
