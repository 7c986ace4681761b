namespace NostrRelay.Storage.RocksDb;

/// <summary>The embedded key-value event store: one RocksDB directory, written by one thread.</summary>
public sealed class RocksDbEventStoreOptions
{
    /// <summary>The database directory; created when missing. Default: data/relay.rocksdb (relative to the working directory).</summary>
    public string Path { get; set; } = "data/relay.rocksdb";

    /// <summary>
    /// Most writes committed in one batch, so with one WAL fsync. Default 512. The writer takes whatever is queued
    /// up to this many; it never waits for a batch to fill.
    /// </summary>
    public int MaxWriteBatch { get; set; } = 512;

    /// <summary>Most writes waiting for the writer; callers beyond it wait for room. Default 8,192.</summary>
    public int MaxQueuedWrites { get; set; } = 8_192;

    /// <summary>
    /// Bytes of decompressed data blocks kept in memory (an LRU cache) besides the OS page cache. Default 256 MiB.
    /// Recent events and the newest index entries stay hot, which is what NIP-01 queries read.
    /// </summary>
    public long BlockCacheBytes { get; set; } = 256L * 1024 * 1024;

    /// <summary>
    /// Opens the database as it is now for reading only, beside the relay that holds it (whose lock keeps a second
    /// writer out): the operator's <c>sync</c> reads its records this way. Writes fail. Default false.
    /// </summary>
    public bool ReadOnly { get; set; }
}
