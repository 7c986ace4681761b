namespace NostrRelay.Storage.Sqlite;

/// <summary>The embedded event store: one SQLite file in WAL mode, written by one connection.</summary>
public sealed class SqliteEventStoreOptions
{
    /// <summary>The database file; its directory is created when missing. Default: data/relay.db (relative to the working directory).</summary>
    public string Path { get; set; } = "data/relay.db";

    /// <summary>
    /// Most writes committed in one transaction, so with one fsync. Default 512. The writer takes whatever is
    /// queued up to this many; it never waits for a batch to fill.
    /// </summary>
    public int MaxWriteBatch { get; set; } = 512;

    /// <summary>Most writes waiting for the writer; callers beyond it wait for room. Default 8,192.</summary>
    public int MaxQueuedWrites { get; set; } = 8_192;

    /// <summary>
    /// For a tool that reads the file beside the running relay (<c>export</c>, <c>sync</c>): the search index is left to
    /// the relay, which alone writes it; events the relay has not indexed yet are not found by a search here.
    /// </summary>
    public bool ReadOnly { get; set; }

    /// <summary>
    /// A filter whose one tag condition names fewer rows of the tag index than this is read in one query, its matches
    /// sorted whole; with more, it is read newest time window first (SqliteEventStore). Tests set 0 to read every such
    /// filter in windows.
    /// </summary>
    internal int WholeSortTagRows { get; init; } = 1_000;
}
