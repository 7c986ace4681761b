namespace NostrRelay.Hosting;

/// <summary>The <c>Relay:Store</c> section: which event store the relay uses and where it keeps its data.</summary>
public sealed class EventStoreOptions
{
    /// <summary>
    /// Sqlite (default: one file, durable, embedded), Postgres (a PostgreSQL database a cluster of silos shares),
    /// MySql (a MariaDB 10.8+ database a cluster of silos shares),
    /// RocksDb (one directory, durable, embedded; the fastest reads on one box, see
    /// <see cref="NostrRelay.Storage.RocksDb.RocksDbEventStore"/>), Lmdb (one directory through Debian's liblmdb0, durable,
    /// embedded; see <see cref="NostrRelay.Storage.Lmdb.LmdbEventStore"/>), Memory (lost on exit; for tests and trials) or
    /// Mirrored (a <c>Primary</c> section and a <c>Mirrors</c> list of store sections) or Sharded (a <c>Shards</c> list,
    /// each with <c>Kinds</c> and a <c>Store</c> section, one without Kinds for the rest, and a <c>Ledger</c> file);
    /// see <see cref="EventStoreFactory"/>.
    /// </summary>
    public string Type { get; set; } = "Sqlite";

    /// <summary>
    /// The Sqlite file or the RocksDb or Lmdb directory, relative to the content root. Default <c>data/relay.db</c> for
    /// Sqlite, <c>data/relay.rocksdb</c> for RocksDb and <c>data/relay.lmdb</c> for Lmdb.
    /// </summary>
    public string Path { get; set; } = "data/relay.db";

    /// <summary>
    /// Postgres: an Npgsql connection string (<c>Host=db;Username=relay;Password=...;Database=relay</c>); MySql: a
    /// MySqlConnector one (<c>Server=db;User ID=relay;Password=...</c>). Required for both; no default. Keep the password out of appsettings.json: set it from the
    /// environment (<c>Relay__Store__ConnectionString</c>).
    /// </summary>
    public string? ConnectionString { get; set; }

    /// <summary>Postgres: the schema holding the store's tables, created when missing. Default <c>nostr</c>.</summary>
    public string Schema { get; set; } = "nostr";

    /// <summary>MySql: the database holding the store's tables, created when missing. Default <c>nostr</c>.</summary>
    public string Database { get; set; } = "nostr";
}
