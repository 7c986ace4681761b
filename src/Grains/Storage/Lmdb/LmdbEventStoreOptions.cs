namespace NostrRelay.Storage.Lmdb;

/// <summary>The embedded LMDB event store: one directory, through Debian's liblmdb (package liblmdb0).</summary>
public sealed class LmdbEventStoreOptions
{
    /// <summary>The environment's directory (data.mdb and lock.mdb inside); created when missing.</summary>
    public string Path { get; set; } = "data/relay.lmdb";

    /// <summary>
    /// The map's first size, in bytes. Default 1 GiB. It is address space, not disk: the file grows with the data. A full
    /// map doubles by itself (the writer waits for open reads, grows it and runs its batch again), so this only sets how
    /// soon the first growth comes; an environment already larger keeps its size.
    /// </summary>
    public long MapSizeBytes { get; set; } = 1L << 30;

    /// <summary>Most writes committed in one transaction, so with one fsync. Default 512.</summary>
    public int MaxWriteBatch { get; set; } = 512;

    /// <summary>Most writes waiting for the writer; callers beyond it wait for room. Default 8,192.</summary>
    public int MaxQueuedWrites { get; set; } = 8_192;

    /// <summary>Opens the environment read-only, beside a relay that has it open (the sync command reads it so); nothing is written.</summary>
    public bool ReadOnly { get; set; }
}
