using NostrRelay.Consumers;
using Orleans.Storage;

namespace NostrRelay.Storage.Tests;

/// <summary>
/// What every grain storage of the relay does alike (Sqlite, Postgres): read what was written, also from
/// another instance on the same data, and refuse a stale write.
/// </summary>
public abstract class GrainStorageConformance
{
    private static readonly GrainId Consumer = GrainId.Create("consumer", "follower-count");

    /// <summary>A storage over the data of this test; a second call opens another instance on the same data.</summary>
    protected abstract IGrainStorage Open();

    [Fact]
    public async Task state_that_was_never_written_reads_as_new()
    {
        var storage = Open();
        var state = new GrainState<ConsumerBookmark>();

        await storage.ReadStateAsync("bookmark", Consumer, state);

        Assert.False(state.RecordExists);
        Assert.Null(state.ETag);
        Assert.Equal(0, state.State.Position);
    }

    [Fact]
    public async Task written_state_is_read_back_by_another_instance_on_the_same_data()
    {
        var storage = Open();
        var state = new GrainState<ConsumerBookmark> { State = new ConsumerBookmark { Position = 41 } };
        await storage.WriteStateAsync("bookmark", Consumer, state);
        state.State.Position = 42;
        await storage.WriteStateAsync("bookmark", Consumer, state);

        var reopened = Open();
        var read = new GrainState<ConsumerBookmark>();
        await reopened.ReadStateAsync("bookmark", Consumer, read);

        Assert.True(read.RecordExists);
        Assert.Equal(42, read.State.Position);
        Assert.Equal("2", read.ETag);
    }

    [Fact]
    public async Task a_write_with_a_stale_etag_is_refused()
    {
        var storage = Open();
        var mine = new GrainState<ConsumerBookmark> { State = new ConsumerBookmark { Position = 1 } };
        await storage.WriteStateAsync("bookmark", Consumer, mine);
        var theirs = new GrainState<ConsumerBookmark>();
        await storage.ReadStateAsync("bookmark", Consumer, theirs);
        theirs.State.Position = 5;
        await storage.WriteStateAsync("bookmark", Consumer, theirs);

        mine.State.Position = 2;
        await Assert.ThrowsAsync<InconsistentStateException>(() => storage.WriteStateAsync("bookmark", Consumer, mine));
    }

    [Fact]
    public async Task cleared_state_reads_as_new()
    {
        var storage = Open();
        var state = new GrainState<ConsumerBookmark> { State = new ConsumerBookmark { Position = 9 } };
        await storage.WriteStateAsync("bookmark", Consumer, state);

        await storage.ClearStateAsync("bookmark", Consumer, state);
        var read = new GrainState<ConsumerBookmark>();
        await storage.ReadStateAsync("bookmark", Consumer, read);

        Assert.False(read.RecordExists);
        Assert.Equal(0, read.State.Position);
    }
}
