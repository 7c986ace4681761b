namespace NostrRelay.Storage.Compositions.Ledger;

/// <summary>
/// The log of a <see cref="ShardedEventStore"/>: one entry per write. It reserves a stream's next version (so two
/// writers of one stream conflict even when their events go to different shards) and draws the global position before
/// the shard write, then records whether the event was stored, later removed, or is still pending. Positions become
/// visible in order. Its writes commit in groups: concurrent saves share one durable commit.
/// </summary>
internal interface IShardLedger : IAsyncDisposable
{
    /// <summary>Creates what the ledger needs (a file, tables); safe to call on every start.</summary>
    Task InitAsync(CancellationToken cancellationToken);

    Task<long> HeadAsync(string stream, CancellationToken cancellationToken);

    /// <summary>The position reserved for version expected + 1, durable when this returns; null when the head is not <paramref name="expectedVersion"/>.</summary>
    Task<long?> ReserveAsync(string stream, long expectedVersion, int shard, string id);

    /// <summary>The shard refused the write: the reservation goes, and the head returns to where it was unless another reservation moved it on.</summary>
    Task ReleaseAsync(long position, string stream, long expectedVersion);

    Task MarkStoredAsync(long position);

    /// <summary>The event left its shard (deleted, or replaced by a newer version).</summary>
    Task MarkRemovedAsync(string id);

    /// <summary>Entries after a position, in position order, at most <paramref name="max"/>.</summary>
    Task<List<LedgerEntry>> ReadAsync(long afterPosition, int max, CancellationToken cancellationToken);

    /// <summary>One stream's entries after a version, in version order, without the removed ones: a range of the (stream, version) key.</summary>
    Task<List<LedgerEntry>> ReadStreamAsync(string stream, long afterVersion, int max, CancellationToken cancellationToken);
}

internal static class LedgerState
{
    public const int Pending = 0, Stored = 1, Removed = 2;
}

/// <param name="AgeMilliseconds">How long ago the entry was written, by the ledger's own clock (the database's for a
/// shared ledger), so silos whose clocks differ agree on which pending write a crash left behind.</param>
internal sealed record LedgerEntry(long Position, string Stream, long Version, int Shard, string Id, int State, long AgeMilliseconds);
