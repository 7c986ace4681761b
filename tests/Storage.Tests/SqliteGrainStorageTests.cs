using NostrRelay.Consumers;
using NostrRelay.GrainStorage;
using Orleans.Storage;

namespace NostrRelay.Storage.Tests;

/// <summary>Grain state in the relay's Sqlite file: read what was written, and a stale write is refused.</summary>
public sealed class SqliteGrainStorageTests : IDisposable
{
    private readonly string _path = Path.Combine(Path.GetTempPath(), "nostr-relay-grain-state", Guid.NewGuid().ToString("N"), "relay.db");
    private static readonly GrainId Consumer = GrainId.Create("consumer", "follower-count");

    public void Dispose()
    {
        var directory = Path.GetDirectoryName(_path)!;
        if (Directory.Exists(directory)) Directory.Delete(directory, recursive: true);
    }

    [Fact]
    public async Task state_that_was_never_written_reads_as_new()
    {
        using var storage = new SqliteGrainStorage(_path);
        var state = new GrainState<ConsumerBookmark>();

        await storage.ReadStateAsync("bookmark", Consumer, state);

        Assert.False(state.RecordExists);
        Assert.Null(state.ETag);
        Assert.Equal(0, state.State.Position);
    }

    [Fact]
    public async Task written_state_is_read_back_by_another_instance_on_the_same_file()
    {
        using (var storage = new SqliteGrainStorage(_path))
        {
            var state = new GrainState<ConsumerBookmark> { State = new ConsumerBookmark { Position = 41 } };
            await storage.WriteStateAsync("bookmark", Consumer, state);
            state.State.Position = 42;
            await storage.WriteStateAsync("bookmark", Consumer, state);
        }

        using var reopened = new SqliteGrainStorage(_path);
        var read = new GrainState<ConsumerBookmark>();
        await reopened.ReadStateAsync("bookmark", Consumer, read);

        Assert.True(read.RecordExists);
        Assert.Equal(42, read.State.Position);
        Assert.Equal("2", read.ETag);
    }

    [Fact]
    public async Task a_write_with_a_stale_etag_is_refused()
    {
        using var storage = new SqliteGrainStorage(_path);
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
        using var storage = new SqliteGrainStorage(_path);
        var state = new GrainState<ConsumerBookmark> { State = new ConsumerBookmark { Position = 9 } };
        await storage.WriteStateAsync("bookmark", Consumer, state);

        await storage.ClearStateAsync("bookmark", Consumer, state);
        var read = new GrainState<ConsumerBookmark>();
        await storage.ReadStateAsync("bookmark", Consumer, read);

        Assert.False(read.RecordExists);
        Assert.Equal(0, read.State.Position);
    }
}
