namespace NostrRelay.Storage.MySql;

/// <summary>The event store a cluster shares on MariaDB or MySQL: InnoDB tables in one database, written through MySqlConnector.</summary>
public sealed class MySqlEventStoreOptions
{
    /// <summary>
    /// A MySqlConnector connection string (<c>Server=...;User ID=...;Password=...</c>). Required. Its own
    /// <c>Database</c> is replaced by <see cref="Database"/>. Each store instance keeps a pool of connections, one
    /// of them held by its writer: <c>Maximum Pool Size</c> is 20 unless the string sets it; reads beyond it wait
    /// for a free connection. The pools of all silos together must fit the server's max_connections (151 by default).
    /// </summary>
    public string ConnectionString { get; set; } = "";

    /// <summary>The database holding the store's tables; created when missing. Default <c>nostr</c>.</summary>
    public string Database { get; set; } = "nostr";

    /// <summary>
    /// Most writes committed in one transaction, so with one redo log flush. Default 512. The writer takes
    /// whatever is queued up to this many; it never waits for a batch to fill.
    /// </summary>
    public int MaxWriteBatch { get; set; } = 512;

    /// <summary>Most writes waiting for the writer; callers beyond it wait for room. Default 8,192.</summary>
    public int MaxQueuedWrites { get; set; } = 8_192;
}
