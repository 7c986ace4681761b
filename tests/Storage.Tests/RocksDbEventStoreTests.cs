using Microsoft.Extensions.Configuration;
using NostrRelay.Hosting;
using NostrRelay.Protocol;
using NostrRelay.Storage.KeyValue;
using NostrRelay.Storage.RocksDb;

namespace NostrRelay.Storage.Tests;

public sealed class RocksDbEventStoreTests : EventStoreConformance, IDisposable
{

    private readonly string _directory = Path.Combine(Path.GetTempPath(), "nostr-relay-store-tests", Guid.NewGuid().ToString("N"));

    private string NewPath() => Path.Combine(_directory, Guid.NewGuid().ToString("N"), "relay.rocksdb");

    // A small cache: many test stores are open at once.
    private RocksDbEventStoreOptions NewOptions() => new() { Path = NewPath(), BlockCacheBytes = 8L * 1024 * 1024 };

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
    public async Task events_heads_addresses_and_positions_survive_reopening_the_directory()
    {
        var options = NewOptions();
        var alice = TestEvents.Pubkey("alice");
        var first = TestEvents.Create(alice, 100, tags: [["t", "kept"]]);
        var last = TestEvents.Create(alice, 101);
        var profile = TestEvents.Create(alice, 100, EventKind.Metadata, content: "v1");
        SaveResult lastSaved;
        await using (var store = new RocksDbEventStore(options))
        {
            await store.InitAsync();
            await store.InitAsync();
            await store.SaveAsync(first, alice, 0);
            Assert.Equal(SaveOutcome.Saved, (await store.ReplaceAsync(profile, alice, 1)).Outcome);
            lastSaved = await store.SaveAsync(last, alice, 2);
            Assert.True(await store.DeleteAsync(last.Id));   // the highest position is gone; it must still not come back
        }

        await using (var reopened = new RocksDbEventStore(options))
        {
            await reopened.InitAsync();
            Assert.Equal([first.Id], await reopened.QueryAsync(new Filter { Tags = [new TagFilter('t', ["kept"])] }).Select(e => e.Id).ToListAsync());
            Assert.Equal(3, await reopened.ReadStreamHeadAsync(alice));
            Assert.Equal(SaveResult.Superseded, await reopened.ReplaceAsync(TestEvents.Create(alice, 99, EventKind.Metadata, content: "old"), alice, 3));
            var renamed = await reopened.ReplaceAsync(TestEvents.Create(alice, 102, EventKind.Metadata, content: "v2"), alice, 3);
            Assert.Equal(4, renamed.Version);
            Assert.True(renamed.Position > lastSaved.Position, "a position handed out before the restart must not be handed out again");
            Assert.Equal(2, await reopened.CountAsync(new Filter { Authors = [alice] }));
            Assert.Equal([first.Id], (await reopened.ReadAllAsync(0, 10).ToListAsync()).Take(1).Select(s => s.Event.Id));
        }
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
    public async Task dispose_commits_the_writes_already_queued()
    {
        var options = NewOptions();
        var authors = Enumerable.Range(0, 300).Select(i => TestEvents.Pubkey($"queued {i}")).ToArray();
        var store = new RocksDbEventStore(options);
        await store.InitAsync();
        var saves = authors.Select(a => store.SaveAsync(TestEvents.Create(a, 100), a, 0)).ToArray();
        await store.DisposeAsync();

        Assert.All(await Task.WhenAll(saves), r => Assert.Equal(SaveOutcome.Saved, r.Outcome));
        await using var reopened = new RocksDbEventStore(options);
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

    [Fact]
    public async Task a_write_that_throws_is_undone_alone_and_the_rest_of_its_batch_commits()
    {
        await using var store = await CreateEmptyStoreAsync();
        var authors = Enumerable.Range(0, 50).Select(i => TestEvents.Pubkey($"bystander {i}")).ToArray();
        // An uppercase id is no NIP-01 id: the writer refuses it after the batch has begun.
        var good = TestEvents.Create(TestEvents.Pubkey("alice"), 100);
        var bad = good with { Id = good.Id.ToUpperInvariant() };

        var before = authors[..25].Select(a => store.SaveAsync(TestEvents.Create(a, 100), a, 0)).ToArray();
        var refused = store.SaveAsync(bad, bad.Pubkey, 0);
        var after = authors[25..].Select(a => store.SaveAsync(TestEvents.Create(a, 100), a, 0)).ToArray();

        await Assert.ThrowsAsync<ArgumentException>(() => refused);
        Assert.All(await Task.WhenAll(before.Concat(after)), r => Assert.Equal(SaveOutcome.Saved, r.Outcome));
        Assert.Equal(50, await store.CountAsync(Filter.Everything));
        Assert.Equal(0, await store.ReadStreamHeadAsync(bad.Pubkey));
        var positions = (await store.ReadAllAsync(0, 100).ToListAsync()).Select(s => s.Position).ToList();
        Assert.Equal(Enumerable.Range(1, 50).Select(p => (long)p), positions);   // the undone write took no position
    }

    [Fact]
    public async Task read_all_from_a_negative_or_the_largest_position_reads_from_the_start_or_nothing()
    {
        await using var store = await CreateEmptyStoreAsync();
        var alice = TestEvents.Pubkey("alice");
        await store.SaveAsync(TestEvents.Create(alice, 100), alice, 0);

        Assert.Single(await store.ReadAllAsync(-5, 10).ToListAsync());
        Assert.Single(await store.ReadAllAsync(long.MinValue, 10).ToListAsync());
        Assert.Empty(await store.ReadAllAsync(long.MaxValue, 10).ToListAsync());
    }

    [Fact]
    public async Task queries_read_while_writes_commit_see_whole_batches()
    {
        await using var store = await CreateEmptyStoreAsync();
        var alice = TestEvents.Pubkey("alice");
        var lists = Enumerable.Range(0, 200).Select(i => TestEvents.Create(alice, 1_000 + i, EventKind.FollowList, [["p", TestEvents.Pubkey($"f{i}")]])).ToArray();
        using var done = new CancellationTokenSource();
        var reader = Task.Run(async () =>
        {
            var reads = 0;
            while (!done.IsCancellationRequested)
            {
                var found = await store.QueryAsync(new Filter { Kinds = [EventKind.FollowList] }).CountAsync();
                Assert.InRange(found, 0, 1);   // a supersede is seen whole: never two current versions
                reads++;
            }
            return reads;
        });
        for (var i = 0; i < lists.Length; i++) Assert.Equal(SaveOutcome.Saved, (await store.ReplaceAsync(lists[i], alice, i)).Outcome);
        done.Cancel();
        Assert.True(await reader > 0);
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
