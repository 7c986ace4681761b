using Microsoft.Extensions.Configuration;
using Npgsql;
using NostrRelay.Hosting;
using NostrRelay.Protocol;
using NostrRelay.Storage.Compositions;
using NostrRelay.Storage.Postgres;

namespace NostrRelay.Storage.Tests;

/// <summary>
/// Sharded as a cluster runs it: both shards and the ledger in PostgreSQL (each in a schema of its own), so several
/// store instances (silos) share one set of streams and one gap-free log. Passes the whole conformance suite.
/// </summary>
public sealed class ShardedPostgresLedgerTests : EventStoreConformance, IAsyncLifetime
{
    private const string DefaultConnectionString = "Host=127.0.0.1;Port=5432;Username=relay;Password=relay;Database=relay_tests";

    // Small pools: a test makes three stores and a ledger per sharded store, and the test server allows 100 connections.
    private static string ConnectionString =>
        (Environment.GetEnvironmentVariable("RELAY_TEST_POSTGRES") is { Length: > 0 } configured ? configured : DefaultConnectionString) + ";Maximum Pool Size=4";

    private readonly List<string> _schemas = [];

    /// <summary>Schema names for the notes shard, the rest shard and the ledger of one sharded store.</summary>
    private (string Notes, string Others, string Ledger) NewSchemas()
    {
        var id = Guid.NewGuid().ToString("N")[..16];
        var schemas = ($"s_{id}_notes", $"s_{id}_rest", $"s_{id}_ledger");
        lock (_schemas) _schemas.AddRange([schemas.Item1, schemas.Item2, schemas.Item3]);
        return schemas;
    }

    private static ShardedEventStore NewSharded((string Notes, string Others, string Ledger) schemas, int maxWriteBatch = 512) =>
        new([
                ([EventKind.TextNote], new PostgresEventStore(new PostgresEventStoreOptions { ConnectionString = ConnectionString, Schema = schemas.Notes, MaxWriteBatch = maxWriteBatch })),
                (null, new PostgresEventStore(new PostgresEventStoreOptions { ConnectionString = ConnectionString, Schema = schemas.Others, MaxWriteBatch = maxWriteBatch })),
            ],
            ConnectionString, schemas.Ledger);

    protected override async Task<IEventStore> CreateEmptyStoreAsync()
    {
        var store = NewSharded(NewSchemas());
        await store.InitAsync();
        return store;
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (_schemas.Count == 0) return;
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        foreach (var schema in _schemas)
        {
            await using var drop = new NpgsqlCommand($"DROP SCHEMA IF EXISTS \"{schema}\" CASCADE", connection);
            await drop.ExecuteNonQueryAsync();
        }
        NpgsqlConnection.ClearAllPools();
    }

    [Fact]
    public async Task silos_sharing_the_ledger_write_one_gap_free_log_and_conflict_on_one_stream()
    {
        // Three store instances on the same shards and ledger, as three silos run them; a bookmark consumer reads on
        // from the last position it saw and must see every saved position once, in order.
        var schemas = NewSchemas();
        var stores = Enumerable.Range(0, 3).Select(_ => NewSharded(schemas, maxWriteBatch: 8)).ToArray();
        foreach (var store in stores) await store.InitAsync();
        try
        {
            // Kind 1 and kind 7 alternate, so one stream's versions run through both shards.
            await SharedLogCheck.ReadersSeeEveryPositionOnceInOrderAsync(stores, writersPerStore: 8, eventsPerWriter: 25, kindOf: v => v % 2 == 0 ? 1 : 7);

            // One stream written through two silos at once: one of them takes the version.
            var alice = TestEvents.Pubkey("alice");
            var contenders = await Task.WhenAll(Enumerable.Range(0, 6).Select(i =>
                Task.Run(() => stores[i % 3].SaveAsync(TestEvents.Create(alice, 100, kind: i % 2 == 0 ? 1 : 7, content: $"contender {i}"), alice, 0))));
            Assert.Single(contenders, r => r.Outcome == SaveOutcome.Saved);
            Assert.Equal(1, await stores[2].ReadStreamHeadAsync(alice));
        }
        finally
        {
            foreach (var store in stores) await store.DisposeAsync();
        }
    }

    [Fact]
    public async Task relay_store_type_sharded_with_a_postgres_ledger_keeps_its_ledger_in_the_database()
    {
        var schemas = NewSchemas();
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Relay:Store:Type"] = "Sharded",
            ["Relay:Store:Ledger:Type"] = "Postgres",
            ["Relay:Store:Ledger:ConnectionString"] = ConnectionString,
            ["Relay:Store:Ledger:Schema"] = schemas.Ledger,
            ["Relay:Store:Shards:0:Kinds:0"] = "1",
            ["Relay:Store:Shards:0:Store:Type"] = "Postgres",
            ["Relay:Store:Shards:0:Store:ConnectionString"] = ConnectionString,
            ["Relay:Store:Shards:0:Store:Schema"] = schemas.Notes,
            ["Relay:Store:Shards:1:Store:Type"] = "Postgres",
            ["Relay:Store:Shards:1:Store:ConnectionString"] = ConnectionString,
            ["Relay:Store:Shards:1:Store:Schema"] = schemas.Others,
        }).Build();
        await using var store = Assert.IsType<ShardedEventStore>(EventStoreFactory.Create(configuration.GetSection("Relay:Store"), contentRoot: "/"));
        await store.InitAsync();
        var alice = TestEvents.Pubkey("alice");
        await store.SaveAsync(TestEvents.Create(alice, 100), alice, 0);
        await store.SaveAsync(TestEvents.Create(alice, 101, kind: 7), alice, 1);

        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var count = new NpgsqlCommand($"SELECT count(*) FROM \"{schemas.Ledger}\".ledger WHERE state = 1", connection);
        Assert.Equal(2L, await count.ExecuteScalarAsync());
    }
}
