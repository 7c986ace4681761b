using Microsoft.Extensions.Configuration;
using NostrRelay.Protocol;
using NostrRelay.Storage.Compositions;
using NostrRelay.Storage.Memory;
using NostrRelay.Storage.Sqlite;

namespace NostrRelay.Storage.Tests;

/// <summary>
/// Sharded(kind 1 → Sqlite, replaceable/addressable kinds → Memory, the rest → Sqlite) passes the whole
/// conformance suite: streams, versions and the log span the shards through the ledger.
/// </summary>
public sealed class ShardedEventStoreTests : EventStoreConformance, IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "nostr-relay-store-tests", Guid.NewGuid().ToString("N"));

    private SqliteEventStore NewSqlite() => new(new SqliteEventStoreOptions { Path = Path.Combine(_directory, Guid.NewGuid().ToString("N"), "relay.db") });

    private ShardedEventStore NewSharded(out MemoryEventStore replaceables, out SqliteEventStore notes)
    {
        replaceables = new MemoryEventStore();
        notes = NewSqlite();
        return new ShardedEventStore(
            [([EventKind.TextNote], notes), ([0, 3, 10_002, 30_000, 30_023], replaceables), (null, NewSqlite())],
            Path.Combine(_directory, Guid.NewGuid().ToString("N"), "ledger.db"));
    }

    protected override async Task<IEventStore> CreateEmptyStoreAsync()
    {
        var store = NewSharded(out _, out _);
        await store.InitAsync();
        return store;
    }

    public void Dispose()
    {
        if (Directory.Exists(_directory)) Directory.Delete(_directory, recursive: true);
    }

    private static readonly string Alice = TestEvents.Pubkey("alice");

    [Fact]
    public async Task each_event_is_stored_only_in_the_shard_its_kind_routes_to()
    {
        await using var store = NewSharded(out var replaceables, out var notes);
        await store.InitAsync();
        var note = TestEvents.Create(Alice, 100);
        var profile = TestEvents.Create(Alice, 101, EventKind.Metadata, content: "{}");

        await store.SaveAsync(note, Alice, 0);
        await store.ReplaceAsync(profile, Alice, 1);

        Assert.Equal([note.Id], await notes.QueryAsync(Filter.Everything).Select(e => e.Id).ToListAsync());
        Assert.Equal([profile.Id], await replaceables.QueryAsync(Filter.Everything).Select(e => e.Id).ToListAsync());
        Assert.Equal(2, await store.ReadStreamHeadAsync(Alice));
    }

    [Fact]
    public async Task a_deletion_request_sent_again_removes_targets_another_shard_still_holds()
    {
        await using var store = NewSharded(out _, out var notes);
        await store.InitAsync();
        var note = TestEvents.Create(Alice, 100);
        var request = TestEvents.Create(Alice, 110, 5, [["e", note.Id]]);
        await store.SaveAsync(note, Alice, 0);
        await store.SaveAsync(request, Alice, 1);
        // As if the relay had crashed after storing the request and before the notes shard lost its target.
        await notes.SaveAsync(note, "left behind", 0);

        var again = await store.SaveAsync(request, Alice, 2);

        Assert.Equal(SaveResult.Duplicate, again);
        Assert.Empty(await notes.QueryAsync(Filter.Everything).Select(e => e.Id).ToListAsync());
    }

    [Fact]
    public async Task one_stream_across_shards_keeps_contiguous_versions_and_one_log()
    {
        await using var store = NewSharded(out _, out _);
        await store.InitAsync();
        var events = new[]
        {
            TestEvents.Create(Alice, 100), TestEvents.Create(Alice, 101, EventKind.Metadata, content: "{}"),
            TestEvents.Create(Alice, 102, 7), TestEvents.Create(Alice, 103),
        };
        var versions = new List<long>();
        foreach (var evt in events) versions.Add((await Seed.AppendAsync(store, evt)).Version);

        var log = await store.ReadAllAsync(0, 100).ToListAsync();

        Assert.Equal([1L, 2, 3, 4], versions);
        Assert.Equal(events.Select(e => e.Id), log.Select(s => s.Event.Id));
        Assert.Equal([1L, 2, 3, 4], log.Select(s => s.Version));
    }

    [Fact]
    public async Task a_version_taken_in_one_shard_conflicts_in_another()
    {
        await using var store = NewSharded(out _, out _);
        await store.InitAsync();
        await store.SaveAsync(TestEvents.Create(Alice, 100), Alice, 0);

        var result = await store.SaveAsync(TestEvents.Create(Alice, 101, 7), Alice, 0);

        Assert.Equal(SaveOutcome.VersionConflict, result.Outcome);
    }
}

/// <summary>A Sharded store described in configuration alone routes as configured.</summary>
public sealed class ShardedEventStoreConfigurationTests : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "nostr-relay-store-tests", Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_directory)) Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public async Task relay_store_type_sharded_routes_kinds_to_the_configured_stores()
    {
        var settings = new Dictionary<string, string?>
        {
            ["Store:Type"] = "Sharded",
            ["Store:Ledger"] = "ledger.db",
            ["Store:Shards:0:Kinds:0"] = "1",
            ["Store:Shards:0:Store:Type"] = "Sqlite",
            ["Store:Shards:0:Store:Path"] = "notes.db",
            ["Store:Shards:1:Store:Type"] = "Sqlite",
            ["Store:Shards:1:Store:Path"] = "rest.db",
        };
        var section = new ConfigurationBuilder().AddInMemoryCollection(settings).Build().GetSection("Store");
        var alice = TestEvents.Pubkey("alice");
        var note = TestEvents.Create(alice, 100);
        var reaction = TestEvents.Create(alice, 101, 7);

        await using (var store = NostrRelay.Hosting.EventStoreFactory.Create(section, _directory))
        {
            await store.InitAsync();
            await store.SaveAsync(note, alice, 0);
            await store.SaveAsync(reaction, alice, 1);
        }

        foreach (var (file, expected) in new[] { ("notes.db", note.Id), ("rest.db", reaction.Id) })
        {
            await using var shard = new SqliteEventStore(new SqliteEventStoreOptions { Path = Path.Combine(_directory, file) });
            await shard.InitAsync();
            Assert.Equal([expected], await shard.QueryAsync(Filter.Everything).Select(e => e.Id).ToListAsync());
        }
        Assert.True(File.Exists(Path.Combine(_directory, "ledger.db")));
    }
}
