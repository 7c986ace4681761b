using Microsoft.Extensions.Configuration;
using NostrRelay.Hosting;
using NostrRelay.Protocol;
using NostrRelay.Storage.KeyValue;
using NostrRelay.Storage.RocksDb;

namespace NostrRelay.Storage.Tests;

public sealed class RocksDbEventStoreTests : KeyValueStoreTests, IDisposable
{

    private readonly string _directory = Path.Combine(Path.GetTempPath(), "nostr-relay-store-tests", Guid.NewGuid().ToString("N"));

    private string NewPath() => Path.Combine(_directory, Guid.NewGuid().ToString("N"), "relay.rocksdb");

    // A small cache: many test stores are open at once.
    private RocksDbEventStoreOptions NewOptions() => new() { Path = NewPath(), BlockCacheBytes = 8L * 1024 * 1024 };

    protected override string NewStorePath() => NewPath();

    protected override IEventStore Open(string path) => new RocksDbEventStore(new RocksDbEventStoreOptions { Path = path, BlockCacheBytes = 8L * 1024 * 1024 });

    protected override async Task<IEventStore> CreateEmptyStoreAsync()
    {
        var store = new RocksDbEventStore(NewOptions());
        await store.InitAsync();
        return store;
    }

    public void Dispose()
    {
        if (Directory.Exists(_directory)) Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public async Task configuration_type_rocksdb_opens_a_directory_under_the_content_root()
    {
        var contentRoot = Path.Combine(_directory, "root");
        var section = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["Store:Type"] = "RocksDb" })
            .Build().GetSection("Store");
        await using var store = EventStoreFactory.Create(section, contentRoot);
        Assert.IsType<RocksDbEventStore>(store);
        await store.InitAsync();
        Assert.True(Directory.Exists(Path.Combine(contentRoot, "data", "relay.rocksdb")));
    }

    [Fact]
    public async Task init_creates_the_missing_directory()
    {
        var path = Path.Combine(_directory, "a", "b", "c", "relay.rocksdb");
        await using var store = new RocksDbEventStore(new RocksDbEventStoreOptions { Path = path, BlockCacheBytes = 1024 * 1024 });
        await store.InitAsync();
        Assert.True(Directory.Exists(path));
    }

    [Fact]
    public async Task using_the_store_before_init_or_after_dispose_throws()
    {
        var store = new RocksDbEventStore(NewOptions());
        var note = TestEvents.Create(TestEvents.Pubkey("alice"), 100);
        await Assert.ThrowsAsync<InvalidOperationException>(() => store.SaveAsync(note, note.Pubkey, 0));

        await store.InitAsync();
        await store.DisposeAsync();
        await Assert.ThrowsAsync<ObjectDisposedException>(() => store.SaveAsync(note, note.Pubkey, 0));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => store.CountAsync(Filter.Everything));
        await store.DisposeAsync();
    }

    [Fact]
    public async Task a_directory_written_before_the_expiration_keys_gets_them_when_opened()
    {
        var options = NewOptions();
        var alice = TestEvents.Pubkey("alice");
        var expiring = TestEvents.Create(alice, 100, tags: [["expiration", "150"]]);
        await using (var store = new RocksDbEventStore(options))
        {
            await store.InitAsync();
            await store.SaveAsync(expiring, alice, 0);
        }
        using (var db = RocksDbSharp.RocksDb.Open(new RocksDbSharp.DbOptions(), options.Path))
        {
            db.Remove(KeyValueKeys.ExpiringKey(150, 1));
            db.Remove(KeyValueKeys.ExpirationsIndexed);
        }

        await using var reopened = new RocksDbEventStore(options);
        await reopened.InitAsync();

        Assert.Equal([expiring.Id], await reopened.ReadExpiredAsync(150, 10).ToListAsync());
    }

    [Fact]
    public async Task a_directory_written_before_the_word_keys_gets_them_when_opened()
    {
        var options = NewOptions();
        var alice = TestEvents.Pubkey("alice");
        var note = TestEvents.Create(alice, 100, content: "Orleans grains everywhere");
        await using (var store = new RocksDbEventStore(options))
        {
            await store.InitAsync();
            await store.SaveAsync(note, alice, 0);
        }
        using (var db = RocksDbSharp.RocksDb.Open(new RocksDbSharp.DbOptions(), options.Path))
        {
            Span<byte> id32 = stackalloc byte[32];
            Assert.True(KeyValueKeys.TryHex32(note.Id, id32));
            var order = new byte[KeyValueKeys.OrderLength];
            KeyValueKeys.WriteOrder(order, note.CreatedAt, id32);
            foreach (var word in new[] { "orleans", "grains", "everywhere" }) db.Remove(KeyValueKeys.IndexKey(KeyValueKeys.WordPrefix(word), order));
            db.Remove(KeyValueKeys.WordsIndexed);
        }

        await using var reopened = new RocksDbEventStore(options);
        await reopened.InitAsync();

        Assert.Equal([note.Id], (await reopened.QueryAsync(new Filter { Search = "grains", Limit = 10 }).ToListAsync()).Select(e => e.Id));
    }

    [Fact]
    public async Task reactions_are_counted_from_the_tag_index_and_entries_written_before_it_held_the_kind_are_read_in_full()
    {
        var options = NewOptions();
        var target = TestEvents.Pubkey("a note");
        var reactions = Enumerable.Range(0, 5).Select(i => TestEvents.Create(TestEvents.Pubkey($"reader {i}"), 100 + i, 7, [["e", target]], "+")).ToList();
        var reply = TestEvents.Create(TestEvents.Pubkey("replier"), 120, 1, [["e", target]], "a reply");
        await using (var store = new RocksDbEventStore(options))
        {
            await store.InitAsync();
            foreach (var evt in reactions.Append(reply)) await store.SaveAsync(evt, evt.Pubkey, 0);
        }
        using (var db = RocksDbSharp.RocksDb.Open(new RocksDbSharp.DbOptions(), options.Path))
        {
            // The oldest reaction's tag entry as an older build wrote it: the position alone.
            Span<byte> id32 = stackalloc byte[32];
            Assert.True(KeyValueKeys.TryHex32(reactions[0].Id, id32));
            var order = new byte[KeyValueKeys.OrderLength];
            KeyValueKeys.WriteOrder(order, reactions[0].CreatedAt, id32);
            var key = KeyValueKeys.IndexKey(KeyValueKeys.TagPrefix('e', target), order);
            var value = db.Get(key);
            Assert.Equal(KeyValueKeys.TagValueLength, value.Length);
            db.Put(key, value[..8]);
        }

        await using var reopened = new RocksDbEventStore(options);
        await reopened.InitAsync();
        var filter = new Filter { Kinds = [7], Tags = [new TagFilter('e', [target])] };

        Assert.Equal(5, await reopened.CountAsync(filter));
        Assert.Equal(reactions.Select(e => (e.Id, e.Pubkey, 7)).Order(), (await reopened.ReadKeysAsync(filter).ToListAsync()).Select(k => (k.Id, k.Pubkey, k.Kind)).Order());
        Assert.Equal(1, await reopened.CountAsync(new Filter { Authors = [reply.Pubkey], Tags = [new TagFilter('e', [target])] }));
    }

    [Fact]
    public async Task keys_of_an_authors_events_or_of_every_event_come_from_the_index_without_reading_an_event()
    {
        var options = NewOptions();
        var alice = TestEvents.Pubkey("alice");
        var events = Enumerable.Range(0, 6).Select(i => TestEvents.Create(i % 2 == 0 ? alice : TestEvents.Pubkey("bob"), 200 + i, i % 3 == 0 ? 4 : 1, [], $"keys {i}")).ToList();
        await using (var store = new RocksDbEventStore(options))
        {
            await store.InitAsync();
            var heads = new Dictionary<string, long>();
            foreach (var evt in events) heads[evt.Pubkey] = (await store.SaveAsync(evt, evt.Pubkey, heads.GetValueOrDefault(evt.Pubkey))).Version;
        }
        using (var db = RocksDbSharp.RocksDb.Open(new RocksDbSharp.DbOptions(), options.Path))
        {
            // Every event's JSON made unreadable: what is still answered was answered from the index.
            for (var position = 1L; position <= events.Count; position++) db.Put(KeyValueKeys.EventKey(position), "not an event"u8.ToArray());
        }

        await using var reopened = new RocksDbEventStore(options);
        await reopened.InitAsync();
        static (string, string, int, long) Key(NostrEvent e) => (e.Id, e.Pubkey, e.Kind, e.CreatedAt);

        Assert.Equal(events.Where(e => e.Pubkey == alice).Select(Key).Order(),
            (await reopened.ReadKeysAsync(new Filter { Authors = [alice] }).ToListAsync()).Select(k => (k.Id, k.Pubkey, k.Kind, k.CreatedAt)).Order());
        Assert.Equal(events.Where(e => e.Kind == 4).Select(Key).Order(),
            (await reopened.ReadKeysAsync(new Filter { Kinds = [4] }).ToListAsync()).Select(k => (k.Id, k.Pubkey, k.Kind, k.CreatedAt)).Order());
        Assert.Equal(events.Where(e => e.CreatedAt >= 202).Select(Key).Order(),
            (await reopened.ReadKeysAsync(new Filter { Since = 202 }).ToListAsync()).Select(k => (k.Id, k.Pubkey, k.Kind, k.CreatedAt)).Order());
    }

    [Fact]
    public async Task a_deletion_request_stored_before_a_restart_still_keeps_its_event_out()
    {
        var options = NewOptions();
        var alice = TestEvents.Pubkey("alice");
        var doomed = TestEvents.Create(alice, 100);
        await using (var store = new RocksDbEventStore(options))
        {
            await store.InitAsync();
            await store.SaveAsync(TestEvents.Create(alice, 110, 5, [["e", doomed.Id]]), alice, 0);
        }

        await using var reopened = new RocksDbEventStore(options);
        await reopened.InitAsync();

        Assert.Equal(SaveResult.Deleted, await reopened.SaveAsync(doomed, alice, 1));
    }
}
