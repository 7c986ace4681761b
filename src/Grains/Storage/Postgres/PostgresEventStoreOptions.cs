namespace NostrRelay.Storage.Postgres;

/// <summary>The event store a cluster shares: tables in one PostgreSQL schema, written through Npgsql.</summary>
public sealed class PostgresEventStoreOptions
{
    /// <summary>
    /// An Npgsql connection string (<c>Host=...;Username=...;Password=...;Database=...</c>). Required. Each store
    /// instance keeps a pool of connections, one of them held by its writer: <c>Maximum Pool Size</c>, 20 unless
    /// the string sets it (not Npgsql's 100); reads beyond it wait for a free connection. The pools of all silos
    /// together must fit the server's max_connections (100 by default). Unless the string sets them, statements
    /// are prepared after a few uses (<c>Max Auto Prepare</c> 64).
    /// </summary>
    public string ConnectionString { get; set; } = "";

    /// <summary>The schema holding the store's tables; created when missing. Default <c>nostr</c>.</summary>
    public string Schema { get; set; } = "nostr";

    /// <summary>
    /// Most writes committed in one transaction, so with one WAL flush. Default 512. The writer takes whatever
    /// is queued up to this many; it never waits for a batch to fill.
    /// </summary>
    public int MaxWriteBatch { get; set; } = 512;

    /// <summary>Most writes waiting for the writer; callers beyond it wait for room. Default 8,192.</summary>
    public int MaxQueuedWrites { get; set; } = 8_192;
}
