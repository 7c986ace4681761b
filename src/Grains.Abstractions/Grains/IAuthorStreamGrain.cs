using NostrRelay.Protocol;

namespace NostrRelay.Grains;

/// <summary>
/// The only writer of one author's events. Key: the author's pubkey, 64 lowercase hex chars. Replace,
/// delete and vanish are scoped to one author, so doing them here, through one queue in arrival order, needs no locks.
/// </summary>
public interface IAuthorStreamGrain : IGrainWithStringKey
{
    /// <summary>
    /// Stores (or, for ephemeral kinds, only fans out) a verified event. Returns after the store commits:
    /// OK true is sent only for Accepted and Duplicate.
    /// </summary>
    Task<AppendResult> AppendAsync(NostrEvent evt);

    /// <summary>
    /// Stores several events of this author, in their order, each answered as <see cref="AppendAsync"/> would answer
    /// it (an event whose outcome is unknown gets a rejection saying to try again). A caller with more than one
    /// event of an author sends them together: they share the store's commit, and their versions follow their order.
    /// </summary>
    Task<AppendResult[]> AppendManyAsync(NostrEvent[] events);

    /// <summary>
    /// NIP-62: the created_at of the newest request to vanish this author made here (0: none). Events of the author,
    /// and gift wraps for them, dated at or before it are refused. Answered between appends, never behind them.
    /// </summary>
    [Orleans.Concurrency.AlwaysInterleave]
    Task<long> VanishedUntilAsync();
}
