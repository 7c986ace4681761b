using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using NostrRelay.Storage;
using NostrRelay.Storage.Compositions;
using NostrRelay.Storage.Lmdb;
using NostrRelay.Storage.Memory;
using NostrRelay.Storage.MySql;
using NostrRelay.Storage.Postgres;
using NostrRelay.Storage.RocksDb;
using NostrRelay.Storage.Sqlite;

namespace NostrRelay.Hosting;

/// <summary>
/// Builds the store a configuration section describes (<c>Relay:Store</c>). A composition's parts are
/// sections of the same shape, so they nest:
/// <code>
/// "Store": { "Type": "Sharded", "Ledger": "data/ledger.db",
///            "Shards": [ { "Kinds": [1], "Store": { "Type": "Sqlite", "Path": "data/notes.db" } },
///                        { "Kinds": [30023], "Store": { "Type": "Postgres", "ConnectionString": "..." } },
///                        { "Store": { "Type": "Sqlite", "Path": "data/rest.db" } } ] }
/// "Store": { "Type": "Sharded", "Ledger": { "Type": "Postgres", "ConnectionString": "...", "Schema": "ledger" },
///            "Shards": [ ... ] }     (a ledger every silo of a cluster shares)
/// "Store": { "Type": "Mirrored",
///            "Primary": { "Type": "Sqlite", "Path": "data/relay.db" },
///            "Mirrors": [ { "Type": "Sqlite", "Path": "/backup/relay.db" } ] }
/// </code>
/// </summary>
public static class EventStoreFactory
{
    /// <param name="readOnly">
    /// For a tool that reads the store beside the running relay: a RocksDb store is opened read-only (the relay holds
    /// its lock), an LMDB one read-only beside the relay's writer, a Sqlite one without writing its search index (the
    /// relay's writer keeps it); the SQL servers take concurrent readers as they are.
    /// </param>
    public static IEventStore Create(IConfigurationSection section, string contentRoot, ILoggerFactory? loggers = null, bool readOnly = false)
    {
        loggers ??= NullLoggerFactory.Instance;
        var options = new EventStoreOptions();
        section.Bind(options);
        switch (options.Type.ToLowerInvariant())
        {
            case "memory":
                return new MemoryEventStore();
            case "sqlite":
                return new SqliteEventStore(new SqliteEventStoreOptions { Path = Path.GetFullPath(options.Path, contentRoot), ReadOnly = readOnly },
                    loggers.CreateLogger<SqliteEventStore>());
            case "postgres":
                if (string.IsNullOrWhiteSpace(options.ConnectionString))
                    throw new InvalidOperationException($"{section.Path}:Type is Postgres but {section.Path}:ConnectionString is not set.");
                return new PostgresEventStore(new PostgresEventStoreOptions { ConnectionString = options.ConnectionString, Schema = options.Schema },
                    loggers.CreateLogger<PostgresEventStore>());
            case "mysql":
            case "mariadb":
                if (string.IsNullOrWhiteSpace(options.ConnectionString))
                    throw new InvalidOperationException($"{section.Path}:Type is {options.Type} but {section.Path}:ConnectionString is not set.");
                return new MySqlEventStore(new MySqlEventStoreOptions { ConnectionString = options.ConnectionString, Database = options.Database },
                    loggers.CreateLogger<MySqlEventStore>());
            case "rocksdb":
            {
                // Not the Sqlite default: a RocksDb store is a directory.
                var directory = section["Path"] ?? "data/relay.rocksdb";
                return new RocksDbEventStore(new RocksDbEventStoreOptions { Path = Path.GetFullPath(directory, contentRoot), ReadOnly = readOnly },
                    loggers.CreateLogger<RocksDbEventStore>());
            }
            case "lmdb":
            {
                var directory = section["Path"] ?? "data/relay.lmdb";
                var lmdb = new LmdbEventStoreOptions { Path = Path.GetFullPath(directory, contentRoot), ReadOnly = readOnly };
                if (section["MapSizeBytes"] is { } mapSize) lmdb.MapSizeBytes = long.Parse(mapSize, System.Globalization.CultureInfo.InvariantCulture);
                return new LmdbEventStore(lmdb, loggers.CreateLogger<LmdbEventStore>());
            }
            case "mirrored":
            {
                var primary = section.GetSection("Primary");
                var mirrors = section.GetSection("Mirrors").GetChildren().ToList();
                if (!primary.Exists() || mirrors.Count == 0)
                    throw new InvalidOperationException($"{section.Path}: a Mirrored store needs a Primary section and at least one entry under Mirrors.");
                return new MirroredEventStore(Create(primary, contentRoot, loggers, readOnly), mirrors.Select(m => Create(m, contentRoot, loggers, readOnly)),
                    loggers.CreateLogger<MirroredEventStore>());
            }
            case "sharded":
            {
                var shards = section.GetSection("Shards").GetChildren().ToList();
                if (shards.Count == 0)
                    throw new InvalidOperationException($"{section.Path}: a Sharded store needs a Shards list (each with a Store section, and Kinds on all but one).");
                var parts = new List<(int[]?, IEventStore)>();
                foreach (var shard in shards)
                {
                    var kinds = shard.GetSection("Kinds").Exists() ? shard.GetSection("Kinds").Get<int[]>() : null;
                    var store = shard.GetSection("Store");
                    if (!store.Exists()) throw new InvalidOperationException($"{shard.Path}: a shard needs a Store section.");
                    parts.Add((kinds, Create(store, contentRoot, loggers, readOnly)));
                }
                var ledger = section.GetSection("Ledger");
                if (ledger["Type"] is { } ledgerType)
                {
                    if (!string.Equals(ledgerType, "Postgres", StringComparison.OrdinalIgnoreCase))
                        throw new InvalidOperationException($"{ledger.Path}:Type '{ledgerType}' is not known; a ledger is a Sqlite file (Ledger: \"path\") or Postgres.");
                    if (string.IsNullOrWhiteSpace(ledger["ConnectionString"]))
                        throw new InvalidOperationException($"{ledger.Path}:Type is Postgres but {ledger.Path}:ConnectionString is not set.");
                    return new ShardedEventStore(parts, ledger["ConnectionString"]!, ledger["Schema"] ?? "nostr_ledger");
                }
                return new ShardedEventStore(parts, Path.GetFullPath(ledger.Value ?? "data/ledger.db", contentRoot));
            }
            default:
                throw new InvalidOperationException($"{section.Path}:Type '{options.Type}' is not known; use Sqlite, Postgres, MySql, RocksDb, Lmdb, Memory, Mirrored or Sharded.");
        }
    }
}
