using NostrRelay.Connections;

namespace NostrRelay.Unit.Tests.Gateway;

/// <summary>Where a gateway shard's resumes read the store's log from: a position its grain vouched for a second or more before.</summary>
public sealed class MatchedThroughTests
{
    private const long Settle = MatchedThrough.SettleMilliseconds;

    [Fact]
    public void a_position_is_resumed_from_only_once_it_is_a_second_old()
    {
        var through = new MatchedThrough();
        Assert.Equal(0, through.At(0));
        through.Record(100, 1, 10_000);
        Assert.Equal(0, through.At(10_000 + Settle - 1));
        Assert.Equal(100, through.At(10_000 + Settle));
    }

    [Fact]
    public void newer_positions_wait_their_second_while_the_settled_one_is_served()
    {
        var through = new MatchedThrough();
        through.Record(100, 1, 0);
        through.Record(200, 2, Settle / 2);   // the first has not settled: this one is not taken
        Assert.Equal(100, through.At(Settle));
        through.Record(300, 3, Settle);
        Assert.Equal(100, through.At(Settle + 1));
        Assert.Equal(300, through.At(2 * Settle));
        through.Record(0, 0, 3 * Settle);   // an older build's batch, unnumbered, says nothing
        Assert.Equal(300, through.At(4 * Settle));
        through.Record(0, 4, 4 * Settle);   // this activation vouches for nothing now
        Assert.Equal(0, through.At(5 * Settle));
    }

    [Fact]
    public void while_a_new_activation_takes_the_resumes_and_until_a_batch_built_after_them_what_it_vouches_for_is_not_taken()
    {
        var through = new MatchedThrough();
        through.Record(100, 1, 0);
        through.Resuming();
        through.Record(5_000, 1, 2 * Settle);   // the new activation's first batch
        Assert.Equal(100, through.At(3 * Settle));   // the lost activation's, for every REQ resumed meanwhile
        through.Resumed(newestTaken: 1);
        through.Record(6_000, 2, 3 * Settle);   // on its way at the last resume: built before it, perhaps
        Assert.Equal(100, through.At(10 * Settle));
        through.Record(7_000, 3, 10 * Settle);
        Assert.Equal(100, through.At(10 * Settle + 1));
        Assert.Equal(7_000, through.At(11 * Settle));
    }

    [Fact]
    public void a_lower_position_is_taken_at_once()
    {
        var through = new MatchedThrough();
        through.Record(500, 1, 0);
        Assert.Equal(500, through.At(2 * Settle));
        // A REQ just ended on the grain: what it buffered is on its way, and the grain vouches for less until it is handed on.
        through.Record(300, 2, 2 * Settle);
        Assert.Equal(300, through.At(2 * Settle));
        through.Record(600, 3, 3 * Settle);
        Assert.Equal(300, through.At(3 * Settle + 1));   // 600 has no second yet
        Assert.Equal(600, through.At(4 * Settle));
    }
}
