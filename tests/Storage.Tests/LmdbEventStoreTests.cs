using Microsoft.Extensions.Configuration;
using NostrRelay.Hosting;
using NostrRelay.Protocol;
using NostrRelay.Storage.Lmdb;

namespace NostrRelay.Storage.Tests;

/// <summary>The LMDB store, through Debian's liblmdb (the test command installs liblmdb0), in a directory per test.</summary>
public sealed class LmdbEventStoreTests : KeyValueStoreTests, IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "nostr-relay-lmdb-tests", Guid.NewGuid().ToString("N"));

    private string NewPath() => Path.Combine(_directory, Guid.NewGuid().ToString("N"), "relay.lmdb");

    // A small first map: the conformance suite then grows it too.
    private LmdbEventStoreOptions NewOptions(long mapSize = 4L << 20) => new() { Path = NewPath(), MapSizeBytes = mapSize };

    protected override string NewStorePath() => NewPath();

    protected override IEventStore Open(string path) => new LmdbEventStore(new LmdbEventStoreOptions { Path = path, MapSizeBytes = 4L << 20 });

    protected override async Task<IEventStore> CreateEmptyStoreAsync()
    {
        var store = new LmdbEventStore(NewOptions());
        await store.InitAsync();
        return store;
    }

    public void Dispose()
    {
        if (Directory.Exists(_directory)) Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public async Task a_full_map_grows_by_itself_while_readers_read_and_nothing_is_lost()
    {
        // 1 MiB of map and 3,000 events of 4 KiB: the map must double several times under a running writer, with
        // queries running all along (a grow waits for open read transactions).
        var options = NewOptions(mapSize: 1L << 20);
        var authors = Enumerable.Range(0, 30).Select(i => TestEvents.Pubkey($"grower {i}")).ToArray();
        var padding = new string('x', 4096);
        await using (var store = new LmdbEventStore(options))
        {
            await store.InitAsync();
            using var done = new CancellationTokenSource();
            var reader = Task.Run(async () =>
            {
                var reads = 0;
                while (!done.IsCancellationRequested)
                {
                    await store.QueryAsync(new Filter { Kinds = [1], Limit = 50 }).CountAsync();
                    reads++;
                }
                return reads;
            });
            await Task.WhenAll(authors.Select(a => Task.Run(async () =>
            {
                for (var v = 0; v < 100; v++)
                    Assert.Equal(SaveOutcome.Saved, (await store.SaveAsync(TestEvents.Create(a, 1_000 + v, content: $"{v} {padding}"), a, v)).Outcome);
            })));
            done.Cancel();
            Assert.True(await reader > 0);
            Assert.Equal(3_000, await store.CountAsync(Filter.Everything));
        }

        Assert.True(new FileInfo(Path.Combine(options.Path, "data.mdb")).Length > 12L << 20, "the data outgrew the first map many times over");
        await using var reopened = new LmdbEventStore(options);
        await reopened.InitAsync();
        Assert.Equal(3_000, await reopened.CountAsync(Filter.Everything));
        Assert.Equal(100, await reopened.ReadStreamHeadAsync(authors[7]));
        Assert.Equal(SaveOutcome.Saved, (await reopened.SaveAsync(TestEvents.Create(authors[7], 5_000), authors[7], 100)).Outcome);
    }

    [Fact]
    public async Task a_read_only_store_reads_the_environment_and_refuses_writes()
    {
        // LMDB allows one open of an environment per process: the sync command that reads beside a running relay is a
        // process of its own. Here the writer is closed first.
        var options = NewOptions();
        var alice = TestEvents.Pubkey("alice");
        await using (var writer = new LmdbEventStore(options))
        {
            await writer.InitAsync();
            await writer.SaveAsync(TestEvents.Create(alice, 100), alice, 0);
            await writer.SaveAsync(TestEvents.Create(alice, 101), alice, 1);
        }

        await using var reader = new LmdbEventStore(new LmdbEventStoreOptions { Path = options.Path, ReadOnly = true });
        await reader.InitAsync();
        Assert.Equal(2, await reader.CountAsync(Filter.Everything));
        Assert.Equal(2, await reader.ReadStreamHeadAsync(alice));
        await Assert.ThrowsAsync<InvalidOperationException>(() => reader.SaveAsync(TestEvents.Create(alice, 102), alice, 2));
    }

    [Fact]
    public async Task an_environment_that_grew_opens_at_the_size_it_grew_to()
    {
        var options = NewOptions(mapSize: 1L << 20);
        var padding = new string('y', 8192);
        var authors = Enumerable.Range(0, 300).Select(i => TestEvents.Pubkey($"big {i}")).ToArray();
        await using (var store = new LmdbEventStore(options))
        {
            await store.InitAsync();
            await Task.WhenAll(authors.Select(a => store.SaveAsync(TestEvents.Create(a, 100, content: padding), a, 0)));
        }
        var grownTo = MapSizeOf(options.Path);
        Assert.True(grownTo > 1L << 20, $"the map did not grow ({grownTo} bytes)");

        await using var reopened = new LmdbEventStore(options);
        await reopened.InitAsync();
        Assert.Equal(grownTo, MapSizeOf(options.Path));
        Assert.Equal(300, await reopened.CountAsync(Filter.Everything));
    }

    /// <summary>
    /// The map size an environment records, from the newer of LMDB's two meta pages (commits alternate between them).
    /// A meta page: page header (16 bytes), then MDB_meta: magic (4), version (4), address (8), map size (8), two
    /// MDB_db records of 48 bytes (the first one's leading 4 bytes hold the page size), the last page (8), the txn id (8).
    /// </summary>
    private static long MapSizeOf(string directory)
    {
        using var file = new FileStream(Path.Combine(directory, "data.mdb"), FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        Span<byte> meta = stackalloc byte[152];
        file.ReadExactly(meta);
        var pageSize = BitConverter.ToInt32(meta[40..44]);
        var (size0, txn0) = (BitConverter.ToInt64(meta[32..40]), BitConverter.ToInt64(meta[144..152]));
        file.Position = pageSize;
        file.ReadExactly(meta);
        var (size1, txn1) = (BitConverter.ToInt64(meta[32..40]), BitConverter.ToInt64(meta[144..152]));
        return txn1 > txn0 ? size1 : size0;
    }

    [Fact]
    public async Task configuration_type_lmdb_opens_a_directory_under_the_content_root()
    {
        var contentRoot = Path.Combine(_directory, "root");
        var section = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["Store:Type"] = "Lmdb", ["Store:MapSizeBytes"] = "8388608" })
            .Build().GetSection("Store");
        await using var store = EventStoreFactory.Create(section, contentRoot);
        Assert.IsType<LmdbEventStore>(store);
        await store.InitAsync();
        Assert.True(File.Exists(Path.Combine(contentRoot, "data", "relay.lmdb", "data.mdb")));
    }

}
