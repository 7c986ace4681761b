namespace NostrRelay.Storage.Lmdb;

/// <summary>The embedded LMDB event store: one directory, through Debian's liblmdb (package liblmdb0).</summary>
public sealed class LmdbEventStoreOptions
{
    /// <summary>The environment's directory (data.mdb and lock.mdb inside); created when missing.</summary>
    public string Path { get; set; } = "data/relay.lmdb";

    /// <summary>
    /// The map's first size, in bytes. Default 1 TiB, as strfry does: it is address space, not memory or disk (the file
    /// grows with the data), and a map that never fills never makes the writer wait. A full map doubles by itself all the
    /// same (the writer waits for the open reads, grows it and runs its batch again), and an environment keeps the size it
    /// grew to. Lower it only where address space is limited (<c>ulimit -v</c>).
    /// </summary>
    public long MapSizeBytes { get; set; } = 1L << 40;

    /// <summary>Most writes committed in one transaction, so with one fsync. Default 512.</summary>
    public int MaxWriteBatch { get; set; } = 512;

    /// <summary>Most writes waiting for the writer; callers beyond it wait for room. Default 8,192.</summary>
    public int MaxQueuedWrites { get; set; } = 8_192;

    /// <summary>Opens the environment read-only, beside a relay that has it open (the sync command reads it so); nothing is written.</summary>
    public bool ReadOnly { get; set; }
}
