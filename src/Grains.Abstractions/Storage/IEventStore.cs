using NostrRelay.Protocol;

namespace NostrRelay.Storage;

/// <summary>
/// Where events live. Each author's events form a stream (named by the pubkey) with contiguous versions;
/// every stored event also gets a global position. The store is the concurrency guard: it enforces a
/// unique event id and a unique (stream, version), so even two activations of one author grain cannot
/// write two events at one version.
/// </summary>
public interface IEventStore : IAsyncDisposable
{
    /// <summary>Creates or migrates the schema; safe to call on every start.</summary>
    Task InitAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Appends a regular event at <paramref name="expectedVersion"/> + 1 of its stream. Returns after a
    /// durable commit. A known id gives <see cref="SaveOutcome.Duplicate"/>; a stream whose head is not
    /// <paramref name="expectedVersion"/> gives <see cref="SaveOutcome.VersionConflict"/>. A replaceable
    /// kind saved here is stored without superseding anything (its address is recorded, so a later
    /// replace sees it); the author grain sends those through <see cref="ReplaceAsync"/>. Cancellation is
    /// honoured until the store has taken the write; after that it commits and the outcome is unknown to
    /// a cancelled caller.
    /// </summary>
    /// <remarks>
    /// NIP-09, in every store and composition: saving a deletion request (kind 5) also removes, in the same
    /// transaction, the events it names that its author may delete (an <c>e</c> tag's event of the same pubkey, not a
    /// deletion request itself, or a gift wrap (kind 1059) whose <c>p</c> tag names the author when the request says
    /// <c>["k", "1059"]</c>; every version at an <c>a</c> tag's address of the same pubkey up to the request's
    /// created_at). Afterwards, saving or replacing an event that a stored request of its author names gives
    /// <see cref="SaveOutcome.Deleted"/>, so a deleted event cannot be published again.
    /// </remarks>
    Task<SaveResult> SaveAsync(NostrEvent evt, string stream, long expectedVersion, CancellationToken cancellationToken = default);

    /// <summary>
    /// Atomically supersedes a replaceable or addressable event: in one transaction, removes the older
    /// events at <see cref="NostrEvent.Address"/> and appends this one. When a newer event already holds
    /// the address nothing changes and <see cref="SaveOutcome.Superseded"/> comes back. An event without an
    /// address (regular or ephemeral kind) is an <see cref="ArgumentException"/>.
    /// </summary>
    Task<SaveResult> ReplaceAsync(NostrEvent evt, string stream, long expectedVersion, CancellationToken cancellationToken = default);

    /// <summary>
    /// True when <see cref="QueryAsync"/> answers NIP-50 <see cref="Filter.Search"/> (best match first). A store that
    /// cannot is never asked: the relay then refuses such a REQ and leaves 50 out of its NIP-11 document.
    /// </summary>
    bool CanSearch => false;

    /// <summary>
    /// Events matching the filter in NIP-01 order (created_at desc, id asc), at most its limit (null: no limit here; the
    /// gateway always sets one). With a <see cref="Filter.Search"/>, best match first, the limit applied after ranking.
    /// </summary>
    IAsyncEnumerable<NostrEvent> QueryAsync(Filter filter, CancellationToken cancellationToken = default);

    /// <summary>How many stored events match the filter, ignoring its limit.</summary>
    Task<long> CountAsync(Filter filter, CancellationToken cancellationToken = default);

    /// <summary>
    /// The id and pubkey of every stored event matching the filter, ignoring its limit, in no particular order. COUNT
    /// reads these to count several filters' matches once each and to fill NIP-45's HyperLogLog; a store reads them
    /// from its columns or keys where it can, not from the events' JSON. The default reads the events.
    /// </summary>
    IAsyncEnumerable<EventKey> ReadKeysAsync(Filter filter, CancellationToken cancellationToken = default) => KeysOf(QueryAsync(filter with { Limit = null }, cancellationToken));

    private static async IAsyncEnumerable<EventKey> KeysOf(IAsyncEnumerable<NostrEvent> events)
    {
        await foreach (var evt in events.ConfigureAwait(false)) yield return new EventKey(evt.Id, evt.Pubkey, evt.Kind, evt.CreatedAt);
    }

    /// <summary>Removes one event; false when it was not stored.</summary>
    Task<bool> DeleteAsync(string id, CancellationToken cancellationToken = default);

    /// <summary>
    /// The ids of stored events whose NIP-40 expiration (their first <c>expiration</c> tag) is at or before
    /// <paramref name="now"/> (unix seconds), soonest first, at most <paramref name="max"/>: a range read on an
    /// expiration index kept with every write, never a scan of the events. The purge deletes what this finds.
    /// </summary>
    IAsyncEnumerable<string> ReadExpiredAsync(long now, int max, CancellationToken cancellationToken = default);

    /// <summary>The last version written to the stream, 0 for a new stream. Versions are never reused, even after deletes.</summary>
    Task<long> ReadStreamHeadAsync(string stream, CancellationToken cancellationToken = default);

    /// <summary>Stored events in global position order, starting after <paramref name="afterPosition"/>.</summary>
    IAsyncEnumerable<StoredEvent> ReadAllAsync(long afterPosition, int max, CancellationToken cancellationToken = default);

    /// <summary>
    /// Stored events of one stream with a version above <paramref name="afterVersion"/>, in version order, at
    /// most <paramref name="max"/>. These are exactly the events <see cref="ReadAllAsync"/> holds for the stream,
    /// with the same versions and positions: a superseded replaceable event and a deleted event are gone, so the
    /// versions read can have gaps (a gap is never filled later, as versions are never reused). An unknown stream
    /// gives nothing. A range read on the stream's (stream, version) index, never a scan of the log, because an
    /// author grain calls it on every activation (after a failover it re-publishes its latest events to live
    /// subscribers: afterVersion = head - n).
    /// </summary>
    IAsyncEnumerable<StoredEvent> ReadStreamAsync(string stream, long afterVersion, int max, CancellationToken cancellationToken = default);
}
