using NostrRelay.Connections;
using NostrRelay.Grains;

namespace NostrRelay.Unit.Tests.Gateway;

/// <summary>A delivery batch sent again because its answer was lost reaches the clients once.</summary>
public sealed class TakenBatchesTests
{
    private static readonly Guid First = Guid.NewGuid(), Second = Guid.NewGuid();

    private static DeliveryBatch Batch(Guid activation, long number) => new([], activation, number);

    [Fact]
    public void a_batch_sent_again_under_its_number_is_taken_once()
    {
        var taken = new TakenBatches();
        Assert.True(taken.Take(Batch(First, 1)));
        Assert.False(taken.Take(Batch(First, 1)));
        Assert.True(taken.Take(Batch(First, 2)));
        Assert.False(taken.Take(Batch(First, 2)));
        Assert.False(taken.Take(Batch(First, 1)));   // given up on, and late: its subscriptions were closed meanwhile
    }

    [Fact]
    public void each_activation_numbers_its_own_batches()
    {
        var taken = new TakenBatches();
        Assert.True(taken.Take(Batch(First, 5)));
        Assert.True(taken.Take(Batch(Second, 1)));
        Assert.True(taken.Take(Batch(First, 6)));
        Assert.False(taken.Take(Batch(Second, 1)));
    }

    [Fact]
    public void batches_of_builds_before_the_numbers_are_always_taken()
    {
        var taken = new TakenBatches();
        Assert.True(taken.Take(Batch(First, 0)));
        Assert.True(taken.Take(Batch(First, 0)));
    }

    [Fact]
    public void a_forgotten_activation_starts_again()
    {
        var taken = new TakenBatches();
        Assert.True(taken.Take(Batch(First, 3)));
        taken.Forget(First);
        Assert.True(taken.Take(Batch(First, 3)));
    }
}
