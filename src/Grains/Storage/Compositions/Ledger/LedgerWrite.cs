namespace NostrRelay.Storage.Compositions.Ledger;

/// <summary>One change to the ledger, waiting for its writer; its caller hears of it once the group it went in is durable.</summary>
internal sealed class LedgerWrite
{
    private readonly TaskCompletionSource<long?> _done = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private LedgerWrite(LedgerWriteKind kind, string? stream, long number, long version, int shard, string? id)
    {
        Kind = kind;
        Stream = stream;
        Number = number;
        Version = version;
        Shard = shard;
        Id = id;
    }

    public LedgerWriteKind Kind { get; }
    public string? Stream { get; }

    /// <summary>The position for a release or a mark, the expected version for a reserve.</summary>
    public long Number { get; }

    public long Version { get; }
    public int Shard { get; }
    public string? Id { get; }

    /// <summary>What the write decided: the position a reserve drew (null: the head had moved); null for the others.</summary>
    public long? Result { get; set; }

    public Task<long?> Task => _done.Task;

    public static LedgerWrite Reserve(string stream, long expectedVersion, int shard, string id) => new(LedgerWriteKind.Reserve, stream, expectedVersion, 0, shard, id);

    public static LedgerWrite Release(long position, string stream, long expectedVersion) => new(LedgerWriteKind.Release, stream, position, expectedVersion, 0, null);

    public static LedgerWrite MarkStored(long position) => new(LedgerWriteKind.MarkStored, null, position, 0, 0, null);

    public static LedgerWrite MarkRemoved(string id) => new(LedgerWriteKind.MarkRemoved, null, 0, 0, 0, id);

    public void Complete() => _done.TrySetResult(Result);

    public void Fail(Exception error) => _done.TrySetException(error);
}

internal enum LedgerWriteKind
{
    Reserve,
    Release,
    MarkStored,
    MarkRemoved,
}
