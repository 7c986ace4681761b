namespace NostrRelay.Storage.KeyValue;

/// <summary>
/// An embedded ordered key-value engine under <see cref="KeyValueEventStore"/>: RocksDB or LMDB. Keys sort by their
/// bytes. Reads take a consistent view (<see cref="OpenSnapshot"/>); one writer at a time fills a batch
/// (<see cref="OpenBatch"/>) and commits it durably. The event store's layout (<see cref="KeyValueKeys"/>), scans and
/// write rules are written once above the engines.
/// </summary>
internal interface IKeyValueEngine : IDisposable
{
    /// <summary>A consistent view of what is committed now; dispose it soon, as it holds old data back.</summary>
    IKeyValueSnapshot OpenSnapshot();

    /// <summary>One committed value, copied; null when there is none. Cheaper than a snapshot for a single read.</summary>
    byte[]? Get(byte[] key);

    /// <summary>The writer's batch. Only one is open at a time, on the writer's thread.</summary>
    IKeyValueBatch OpenBatch();

    /// <summary>
    /// Called after a batch failed with <see cref="KeyValueFullException"/> and was abandoned, with no snapshot open on
    /// this thread: makes room (LMDB grows its map), so the batch can run again.
    /// </summary>
    void MakeRoom();
}

/// <summary>A consistent read view of an engine (a RocksDB snapshot, an LMDB read transaction).</summary>
internal interface IKeyValueSnapshot : IDisposable
{
    /// <summary>The value at the key, copied; null when there is none.</summary>
    byte[]? Get(byte[] key);

    /// <summary>A cursor over this view.</summary>
    IKeyValueCursor OpenCursor();
}

/// <summary>
/// A position in the sorted keys. <see cref="Key"/> and <see cref="Value"/> are valid until the next move; copy what
/// must outlive it.
/// </summary>
internal interface IKeyValueCursor : IDisposable
{
    /// <summary>Moves to the first key at or after <paramref name="key"/>.</summary>
    void Seek(byte[] key);

    void Next();

    bool Valid { get; }

    ReadOnlySpan<byte> Key { get; }

    ReadOnlySpan<byte> Value { get; }
}

/// <summary>
/// The writer's open batch. <see cref="Get"/> sees the batch's own changes; <see cref="OpenCursor"/> sees at least what
/// was committed before it (an engine may show the batch's changes too), so a caller that scans also checks what it
/// put in the batch itself. Nothing is visible to readers until <see cref="Commit"/>.
/// </summary>
internal interface IKeyValueBatch : IDisposable
{
    byte[]? Get(byte[] key);

    IKeyValueCursor OpenCursor();

    void Put(byte[] key, byte[] value);

    void Delete(byte[] key);

    /// <summary>Marks where the next write starts, so a write that throws can be undone alone.</summary>
    void SetSavePoint();

    void RollbackToSavePoint();

    /// <summary>The changes since the save point are kept; the next write sets a new one.</summary>
    void ReleaseSavePoint();

    /// <summary>Writes the batch durably: when this returns it survives a crash or power loss. Throws <see cref="KeyValueFullException"/> when the engine is full.</summary>
    void Commit();

    /// <summary>Drops everything the batch holds.</summary>
    void Abandon();
}

/// <summary>The engine has no room for the batch (LMDB's MDB_MAP_FULL); the writer abandons it, calls <see cref="IKeyValueEngine.MakeRoom"/> and runs it again.</summary>
internal sealed class KeyValueFullException(string message) : Exception(message);
