using NostrRelay.Protocol;
using NostrRelay.Storage.Sqlite;

namespace NostrRelay.Storage.Tests;

public sealed class SqliteEventStoreTests : EventStoreConformance, IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "nostr-relay-store-tests", Guid.NewGuid().ToString("N"));

    private string NewPath() => Path.Combine(_directory, Guid.NewGuid().ToString("N"), "relay.db");

    protected override async Task<IEventStore> CreateEmptyStoreAsync()
    {
        var store = new SqliteEventStore(new SqliteEventStoreOptions { Path = NewPath() });
        await store.InitAsync();
        return store;
    }

    public void Dispose()
    {
        if (Directory.Exists(_directory)) Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public async Task events_heads_and_positions_survive_reopening_the_file()
    {
        var options = new SqliteEventStoreOptions { Path = NewPath() };
        var alice = TestEvents.Pubkey("alice");
        var first = TestEvents.Create(alice, 100, tags: [["t", "kept"]]);
        var last = TestEvents.Create(alice, 101);
        SaveResult lastSaved;
        await using (var store = new SqliteEventStore(options))
        {
            await store.InitAsync();
            await store.InitAsync();
            await store.SaveAsync(first, alice, 0);
            lastSaved = await store.SaveAsync(last, alice, 1);
            Assert.True(await store.DeleteAsync(last.Id));
        }

        await using (var reopened = new SqliteEventStore(options))
        {
            await reopened.InitAsync();
            Assert.Equal([first.Id], await reopened.QueryAsync(new Filter { Tags = [new TagFilter('t', ["kept"])] }).Select(e => e.Id).ToListAsync());
            Assert.Equal(2, await reopened.ReadStreamHeadAsync(alice));
            var next = await reopened.SaveAsync(TestEvents.Create(alice, 102), alice, 2);
            Assert.Equal(3, next.Version);
            Assert.True(next.Position > lastSaved.Position, "a deleted event's position must not be handed out again after a restart");
        }
    }

    [Fact]
    public async Task init_creates_the_missing_directory()
    {
        var path = Path.Combine(_directory, "a", "b", "c", "relay.db");
        await using var store = new SqliteEventStore(new SqliteEventStoreOptions { Path = path });
        await store.InitAsync();
        Assert.True(File.Exists(path));
    }

    [Fact]
    public async Task using_the_store_before_init_or_after_dispose_throws()
    {
        var store = new SqliteEventStore(new SqliteEventStoreOptions { Path = NewPath() });
        var note = TestEvents.Create(TestEvents.Pubkey("alice"), 100);
        await Assert.ThrowsAsync<InvalidOperationException>(() => store.SaveAsync(note, note.Pubkey, 0));

        await store.InitAsync();
        await store.DisposeAsync();
        await Assert.ThrowsAsync<ObjectDisposedException>(() => store.SaveAsync(note, note.Pubkey, 0));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => store.CountAsync(Filter.Everything));
        await store.DisposeAsync();
    }

    [Fact]
    public async Task dispose_commits_the_writes_already_queued()
    {
        var options = new SqliteEventStoreOptions { Path = NewPath() };
        var authors = Enumerable.Range(0, 300).Select(i => TestEvents.Pubkey($"queued {i}")).ToArray();
        var store = new SqliteEventStore(options);
        await store.InitAsync();
        var saves = authors.Select(a => store.SaveAsync(TestEvents.Create(a, 100), a, 0)).ToArray();
        await store.DisposeAsync();

        Assert.All(await Task.WhenAll(saves), r => Assert.Equal(SaveOutcome.Saved, r.Outcome));
        await using var reopened = new SqliteEventStore(options);
        await reopened.InitAsync();
        Assert.Equal(authors.Length, await reopened.CountAsync(Filter.Everything));
    }

    [Fact]
    public async Task a_write_cancelled_before_the_writer_takes_it_is_not_saved()
    {
        await using var store = await CreateEmptyStoreAsync();
        var note = TestEvents.Create(TestEvents.Pubkey("alice"), 100);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => store.SaveAsync(note, note.Pubkey, 0, new CancellationToken(canceled: true)));
        Assert.Equal(0, await store.CountAsync(Filter.Everything));
    }
}
