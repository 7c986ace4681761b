using NostrRelay.Protocol;
using NostrRelay.Storage.Compositions;
using NostrRelay.Storage.Memory;
using NostrRelay.Storage.Sqlite;

namespace NostrRelay.Storage.Tests;

/// <summary>Mirrored(Memory primary, Sqlite mirror) passes the whole conformance suite, and reads merge what each store holds.</summary>
public sealed class MirroredEventStoreTests : EventStoreConformance, IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "nostr-relay-store-tests", Guid.NewGuid().ToString("N"));

    private async Task<SqliteEventStore> NewSqliteAsync()
    {
        var store = new SqliteEventStore(new SqliteEventStoreOptions { Path = Path.Combine(_directory, Guid.NewGuid().ToString("N"), "relay.db") });
        await store.InitAsync();
        return store;
    }

    protected override async Task<IEventStore> CreateEmptyStoreAsync()
    {
        var store = new MirroredEventStore(new MemoryEventStore(), [await NewSqliteAsync()]);
        await store.InitAsync();
        return store;
    }

    public void Dispose()
    {
        if (Directory.Exists(_directory)) Directory.Delete(_directory, recursive: true);
    }

    private static readonly string Alice = TestEvents.Pubkey("alice");

    [Fact]
    public async Task every_saved_event_is_in_the_primary_and_in_the_mirror()
    {
        var primary = new MemoryEventStore();
        var mirror = await NewSqliteAsync();
        await using var store = new MirroredEventStore(primary, [mirror]);
        var note = TestEvents.Create(Alice, 100);

        await store.SaveAsync(note, Alice, 0);

        Assert.Equal(note.Id, Assert.Single(await primary.QueryAsync(Filter.Everything).ToListAsync()).Id);
        Assert.Equal(note.Id, Assert.Single(await mirror.QueryAsync(Filter.Everything).ToListAsync()).Id);
    }

    [Fact]
    public async Task reads_merge_both_stores_newest_first_each_id_once_with_the_limit_applied_once()
    {
        var shared = Enumerable.Range(0, 4).Select(i => TestEvents.Create(Alice, 100 + i * 10)).ToArray();
        var onlyInMirror = Enumerable.Range(0, 4).Select(i => TestEvents.Create(TestEvents.Pubkey("archive"), 105 + i * 10)).ToArray();
        var primary = new MemoryEventStore(shared);
        var mirror = new MemoryEventStore([.. shared, .. onlyInMirror]);
        await using var store = new MirroredEventStore(primary, [mirror]);

        var all = await store.QueryAsync(Filter.Everything).Select(e => e.Id).ToListAsync();
        var limited = await store.QueryAsync(new Filter { Limit = 5 }).Select(e => e.Id).ToListAsync();

        var expected = shared.Concat(onlyInMirror).OrderByDescending(e => e.CreatedAt).ThenBy(e => e.Id, StringComparer.Ordinal).Select(e => e.Id).ToList();
        Assert.Equal(expected, all);
        Assert.Equal(expected.Take(5), limited);
    }

    [Fact]
    public async Task a_failing_mirror_does_not_fail_the_write()
    {
        var broken = await NewSqliteAsync();
        await broken.DisposeAsync();   // every write to it now throws
        var primary = new MemoryEventStore();
        await using var store = new MirroredEventStore(primary, [broken]);
        var note = TestEvents.Create(Alice, 100);

        var result = await store.SaveAsync(note, Alice, 0);

        Assert.Equal(SaveOutcome.Saved, result.Outcome);
        Assert.Single(await primary.QueryAsync(Filter.Everything).ToListAsync());
    }

    [Fact]
    public async Task a_mirror_that_missed_writes_takes_new_ones_at_its_own_head()
    {
        var missed = TestEvents.Create(Alice, 100);
        var primary = new MemoryEventStore([missed]);   // the mirror was down for this one
        var mirror = new MemoryEventStore();
        await using var store = new MirroredEventStore(primary, [mirror]);
        var next = TestEvents.Create(Alice, 200);

        var result = await store.SaveAsync(next, Alice, 1);

        Assert.Equal((SaveOutcome.Saved, 2L), (result.Outcome, result.Version));
        Assert.Equal(next.Id, Assert.Single(await mirror.QueryAsync(Filter.Everything).ToListAsync()).Id);
        Assert.Equal(1, await mirror.ReadStreamHeadAsync(Alice));
    }

    [Fact]
    public async Task a_stream_is_read_from_the_primary_whose_versions_the_saves_returned()
    {
        var missed = TestEvents.Create(Alice, 100);
        var primary = new MemoryEventStore([missed]);   // the mirror was down for this one
        var mirror = new MemoryEventStore();
        await using var store = new MirroredEventStore(primary, [mirror]);
        var next = TestEvents.Create(Alice, 200);
        var saved = await store.SaveAsync(next, Alice, 1);

        var read = await store.ReadStreamAsync(Alice, 0, 10).Select(s => (s.Event.Id, s.Version, s.Position)).ToListAsync();

        Assert.Equal([(missed.Id, 1L, 1L), (next.Id, saved.Version, saved.Position)], read);
    }
}
