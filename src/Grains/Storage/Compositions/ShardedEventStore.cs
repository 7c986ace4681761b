using System.Runtime.CompilerServices;
using NostrRelay.Protocol;
using NostrRelay.Storage.Compositions.Ledger;
using NostrRelay.Storage.Writing;

namespace NostrRelay.Storage.Compositions;

/// <summary>
/// Events spread over stores by kind (kind 1 here, kind 30023 there, the rest in a default store). Writes go
/// to the one store their kind routes to; a query asks only the stores that can hold matches and merges their
/// answers in NIP-01 order with the limit applied once. Streams and the log span the shards through a
/// ledger: it reserves each stream version and draws the global position before the shard write, so versions stay
/// contiguous and conflicts are caught across shards, and <see cref="ReadAllAsync"/> reads one gap-free log. The ledger
/// is a Sqlite file beside one silo, or tables in PostgreSQL that every silo of a cluster shares; either commits the
/// ledger writes of concurrent saves in groups.
/// </summary>
public sealed class ShardedEventStore : IEventStore
{
    /// <summary>A write still pending this long is taken for one a crash interrupted, and skipped by readers of the log.</summary>
    private static readonly TimeSpan InFlightWindow = TimeSpan.FromSeconds(10);
    private const int LedgerPage = 500;

    private readonly IEventStore[] _stores;
    private readonly Dictionary<int, int> _shardOfKind = [];
    private readonly int _defaultShard;
    private readonly IShardLedger _ledger;
    private readonly SemaphoreSlim[] _streamLocks = Enumerable.Range(0, 64).Select(_ => new SemaphoreSlim(1, 1)).ToArray();
    private bool _initialised;

    /// <param name="shards">Each store with the kinds it holds; exactly one has no kinds: it takes every other kind.</param>
    /// <param name="ledgerPath">The ledger's Sqlite file.</param>
    public ShardedEventStore(IEnumerable<(int[]? Kinds, IEventStore Store)> shards, string ledgerPath)
        : this(shards, new SqliteShardLedger(ledgerPath))
    {
    }

    /// <param name="shards">Each store with the kinds it holds; exactly one has no kinds: it takes every other kind.</param>
    /// <param name="ledgerConnectionString">A PostgreSQL connection string (Npgsql): the ledger every silo of a cluster shares.</param>
    /// <param name="ledgerSchema">The schema holding the ledger's tables; created when missing.</param>
    public ShardedEventStore(IEnumerable<(int[]? Kinds, IEventStore Store)> shards, string ledgerConnectionString, string ledgerSchema)
        : this(shards, new PostgresShardLedger(ledgerConnectionString, ledgerSchema))
    {
    }

    internal ShardedEventStore(IEnumerable<(int[]? Kinds, IEventStore Store)> shards, IShardLedger ledger)
    {
        var list = shards.ToList();
        _stores = list.Select(s => s.Store).ToArray();
        _defaultShard = -1;
        for (var i = 0; i < list.Count; i++)
        {
            if (list[i].Kinds is not { } kinds)
            {
                if (_defaultShard >= 0) throw new ArgumentException("only one shard may take every other kind", nameof(shards));
                _defaultShard = i;
                continue;
            }
            foreach (var kind in kinds)
                if (!_shardOfKind.TryAdd(kind, i)) throw new ArgumentException($"kind {kind} is routed to two shards", nameof(shards));
        }
        if (_defaultShard < 0) throw new ArgumentException("one shard must take every kind the others do not list", nameof(shards));
        _ledger = ledger;
    }

    private IShardLedger Ledger => _initialised ? _ledger : throw new InvalidOperationException("call InitAsync before using the store");

    private int Route(int kind) => _shardOfKind.TryGetValue(kind, out var shard) ? shard : _defaultShard;

    public async Task InitAsync(CancellationToken cancellationToken = default)
    {
        foreach (var store in _stores) await store.InitAsync(cancellationToken);
        await _ledger.InitAsync(cancellationToken);
        _initialised = true;
    }

    public Task<SaveResult> SaveAsync(NostrEvent evt, string stream, long expectedVersion, CancellationToken cancellationToken = default) =>
        WriteAsync(evt, stream, expectedVersion, replace: false, cancellationToken);

    public Task<SaveResult> ReplaceAsync(NostrEvent evt, string stream, long expectedVersion, CancellationToken cancellationToken = default)
    {
        if (evt.Address is null) throw new ArgumentException("only replaceable and addressable events are replaced", nameof(evt));
        return WriteAsync(evt, stream, expectedVersion, replace: true, cancellationToken);
    }

    private async Task<SaveResult> WriteAsync(NostrEvent evt, string stream, long expectedVersion, bool replace, CancellationToken cancellationToken)
    {
        var index = Route(evt.Kind);
        var shard = _stores[index];
        var streamLock = _streamLocks[(uint)StringComparer.Ordinal.GetHashCode(stream) % (uint)_streamLocks.Length];
        await streamLock.WaitAsync(cancellationToken);
        try
        {
            // The same order of checks as every store: duplicate, deletion, then version, then supersession.
            if (await HoldsAsync(shard, evt.Id, cancellationToken))
            {
                // A deletion request sent again (after a crash between its save and its targets in other shards) is
                // applied again: removing what is already gone changes nothing.
                if (evt.Kind == DeletionRules.DeletionRequestKind) await RemoveDoomedAsync(await DoomedAsync(evt, cancellationToken), shard);
                return SaveResult.Duplicate;
            }
            // A shard sees the deletion requests it holds itself; those routed elsewhere are asked here.
            var requests = _stores[Route(DeletionRules.DeletionRequestKind)];
            if (requests != shard && await IsDeletedAsync(requests, evt, cancellationToken)) return SaveResult.Deleted;
            var doomed = evt.Kind == DeletionRules.DeletionRequestKind ? await DoomedAsync(evt, cancellationToken) : null;
            var replaced = replace ? await HoldersAsync(shard, evt, cancellationToken) : null;
            if (await Ledger.ReserveAsync(stream, expectedVersion, index, evt.Id) is not { } position) return SaveResult.VersionConflict;

            SaveResult result;
            try
            {
                var shardHead = await shard.ReadStreamHeadAsync(stream, CancellationToken.None);
                result = replace
                    ? await shard.ReplaceAsync(evt, stream, shardHead, CancellationToken.None)
                    : await shard.SaveAsync(evt, stream, shardHead, CancellationToken.None);
            }
            catch
            {
                await Ledger.ReleaseAsync(position, stream, expectedVersion);
                throw;
            }
            if (result.Outcome != SaveOutcome.Saved)
            {
                await Ledger.ReleaseAsync(position, stream, expectedVersion);
                return new SaveResult(result.Outcome);
            }
            // The event is in its shard now: its mark must reach the ledger, or readers of the log skip it once it has
            // been pending for the in-flight window. Marks are idempotent, so a failed one is tried again.
            var marks = new List<Task>(1 + (replaced?.Count ?? 0)) { UntilMarkedAsync(() => Ledger.MarkStoredAsync(position)) };
            if (replaced is not null)
                foreach (var id in replaced) marks.Add(UntilMarkedAsync(() => Ledger.MarkRemovedAsync(id)));
            await Task.WhenAll(marks);
            // The request's own shard removed its targets with it; targets in other shards go now.
            if (doomed is not null) await RemoveDoomedAsync(doomed, shard);
            return new SaveResult(SaveOutcome.Saved, expectedVersion + 1, position);
        }
        finally
        {
            streamLock.Release();
        }
    }

    /// <summary>A ledger mark, tried up to five times over about three seconds before its error reaches the caller.</summary>
    private static async Task UntilMarkedAsync(Func<Task> mark)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await mark();
                return;
            }
            catch (Exception) when (attempt < 5)
            {
                await Task.Delay(100 * attempt * attempt);
            }
        }
    }

    /// <summary>NIP-09 across shards: a stored request of the author (or of a gift wrap's recipient) names the event.</summary>
    private static async Task<bool> IsDeletedAsync(IEventStore requests, NostrEvent evt, CancellationToken cancellationToken)
    {
        if (evt.Kind == DeletionRules.DeletionRequestKind) return false;
        var byId = new Filter { Kinds = [DeletionRules.DeletionRequestKind], Tags = [new TagFilter('e', [evt.Id])] };
        await foreach (var request in requests.QueryAsync(byId, cancellationToken))
            if (DeletionRules.Forbids(new DeletionMark(request.Pubkey, request.CreatedAt), evt, namedByAddress: false)) return true;
        if (evt.Address is not { } address) return false;
        var byAddress = new Filter
        {
            Kinds = [DeletionRules.DeletionRequestKind], Authors = [evt.Pubkey], Tags = [new TagFilter('a', [address])], Since = evt.CreatedAt,
        };
        await foreach (var _ in requests.QueryAsync(byAddress, cancellationToken)) return true;
        return false;
    }

    private async Task RemoveDoomedAsync(List<(IEventStore Holder, string Id)> doomed, IEventStore requestShard)
    {
        foreach (var (holder, id) in doomed)
        {
            if (holder != requestShard) await holder.DeleteAsync(id, CancellationToken.None);
            await UntilMarkedAsync(() => Ledger.MarkRemovedAsync(id));
        }
    }

    /// <summary>The stored events a deletion request removes, in every shard, with the shard holding each.</summary>
    private async Task<List<(IEventStore Holder, string Id)>> DoomedAsync(NostrEvent request, CancellationToken cancellationToken)
    {
        var ids = new List<string>();
        var addressed = new List<Filter>();
        foreach (var tag in request.Tags)
        {
            if (tag.Length < 2) continue;
            if (tag[0] == "e") ids.Add(tag[1]);
            else if (tag[0] == "a" && tag[1].Split(':', 3) is [var kind, var pubkey, _] && pubkey == request.Pubkey && int.TryParse(kind, out var k))
                addressed.Add(new Filter { Kinds = [k], Authors = [pubkey] });   // Removes picks the address's versions
        }
        var doomed = new List<(IEventStore, string)>();
        foreach (var store in _stores)
        {
            if (ids.Count > 0)
                await foreach (var target in store.QueryAsync(new Filter { Ids = [.. ids] }, cancellationToken))
                    if (DeletionRules.Removes(request, target)) doomed.Add((store, target.Id));
            foreach (var filter in addressed)
                await foreach (var target in store.QueryAsync(filter, cancellationToken))
                    if (DeletionRules.Removes(request, target)) doomed.Add((store, target.Id));
        }
        return doomed;
    }

    private static async Task<bool> HoldsAsync(IEventStore shard, string id, CancellationToken cancellationToken)
    {
        await foreach (var _ in shard.QueryAsync(new Filter { Ids = [id], Limit = 1 }, cancellationToken)) return true;
        return false;
    }

    /// <summary>The ids at the event's address now: a successful replace removes them from the shard.</summary>
    private static async Task<List<string>> HoldersAsync(IEventStore shard, NostrEvent evt, CancellationToken cancellationToken)
    {
        var ids = new List<string>();
        await foreach (var held in shard.QueryAsync(new Filter { Authors = [evt.Pubkey], Kinds = [evt.Kind] }, cancellationToken))
            if (held.Address == evt.Address) ids.Add(held.Id);
        return ids;
    }

    public async Task<bool> DeleteAsync(string id, CancellationToken cancellationToken = default)
    {
        var deleted = false;
        foreach (var store in _stores) deleted |= await store.DeleteAsync(id, cancellationToken);
        if (deleted) await Ledger.MarkRemovedAsync(id);
        return deleted;
    }

    public IAsyncEnumerable<NostrEvent> QueryAsync(Filter filter, CancellationToken cancellationToken = default) =>
        NostrOrderMerge.MergeAsync(ShardsFor(filter), filter, cancellationToken);

    public bool CanSearch => SearchMerge.AllCanSearch(_stores);

    /// <summary>Each event lives in one shard, so the shards' counts add up.</summary>
    public async Task<long> CountAsync(Filter filter, CancellationToken cancellationToken = default)
    {
        long count = 0;
        foreach (var store in ShardsFor(filter)) count += await store.CountAsync(filter, cancellationToken);
        return count;
    }

    /// <summary>Each event lives in one shard: the shards' keys, one after another.</summary>
    public async IAsyncEnumerable<EventKey> ReadKeysAsync(Filter filter, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        foreach (var store in ShardsFor(filter))
            await foreach (var key in store.ReadKeysAsync(filter, cancellationToken).ConfigureAwait(false))
                yield return key;
    }

    public IAsyncEnumerable<string> ReadExpiredAsync(long now, int max, CancellationToken cancellationToken = default) =>
        ExpiredUnion.ReadAsync(_stores, now, max, cancellationToken);

    /// <summary>Only the shards a filter's kinds route to; every shard when it names no kinds.</summary>
    private IReadOnlyList<IEventStore> ShardsFor(Filter filter)
    {
        if (filter.Kinds is not { } kinds) return _stores;
        var shards = new List<IEventStore>();
        foreach (var kind in kinds)
        {
            var store = _stores[Route(kind)];
            if (!shards.Contains(store)) shards.Add(store);
        }
        return shards.Count == 0 ? [_stores[_defaultShard]] : shards;
    }

    public Task<long> ReadStreamHeadAsync(string stream, CancellationToken cancellationToken = default) => Ledger.HeadAsync(stream, cancellationToken);

    /// <summary>
    /// The ledger in position order, each stored event fetched from its shard. A write still in flight stops the
    /// read there (it will be stored or released soon), so a consumer never passes an event that commits late;
    /// removed events and writes a crash left pending are skipped.
    /// </summary>
    public async IAsyncEnumerable<StoredEvent> ReadAllAsync(long afterPosition, int max, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var remaining = max;
        var position = afterPosition;
        while (remaining > 0)
        {
            var entries = await Ledger.ReadAsync(position, LedgerPage, cancellationToken);   // a full page: removed entries do not count toward max
            if (entries.Count == 0) yield break;
            var found = await FetchAsync(entries, cancellationToken);
            foreach (var entry in entries)
            {
                if (InFlight(entry)) yield break;
                position = entry.Position;
                if (entry.State != LedgerState.Stored || !found.TryGetValue(entry.Id, out var evt)) continue;
                yield return new StoredEvent(evt, entry.Stream, entry.Version, entry.Position);
                if (--remaining == 0) yield break;
            }
            if (entries.Count < LedgerPage) yield break;
        }
    }

    /// <summary>
    /// The stream's ledger entries in version order, each stored event fetched from its shard, under the rules of
    /// <see cref="ReadAllAsync"/>. The shards cannot answer this themselves: each takes an event at its own head of
    /// the stream, so a shard's versions and positions are not the stream's. The ledger's are, and a range of its
    /// (stream, version) index finds them; then one lookup by ids in each shard that holds some of them.
    /// </summary>
    public async IAsyncEnumerable<StoredEvent> ReadStreamAsync(string stream, long afterVersion, int max, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var remaining = max;
        var version = afterVersion;
        while (remaining > 0)
        {
            var take = Math.Min(remaining, LedgerPage);
            var entries = await Ledger.ReadStreamAsync(stream, version, take, cancellationToken);   // removed entries are left out already
            if (entries.Count == 0) yield break;
            var found = await FetchAsync(entries, cancellationToken);
            foreach (var entry in entries)
            {
                // As in ReadAllAsync: a write in flight becomes this version or is released, so nothing is read past it.
                if (InFlight(entry)) yield break;
                version = entry.Version;
                if (entry.State != LedgerState.Stored || !found.TryGetValue(entry.Id, out var evt)) continue;
                yield return new StoredEvent(evt, stream, entry.Version, entry.Position);
                if (--remaining == 0) yield break;
            }
            if (entries.Count < take) yield break;
        }
    }

    /// <summary>Pending, and not for so long that a crash must have interrupted it.</summary>
    private static bool InFlight(LedgerEntry entry) =>
        entry.State == LedgerState.Pending && entry.AgeMilliseconds < InFlightWindow.TotalMilliseconds;

    private async Task<Dictionary<string, NostrEvent>> FetchAsync(List<LedgerEntry> entries, CancellationToken cancellationToken)
    {
        var found = new Dictionary<string, NostrEvent>(StringComparer.Ordinal);
        for (var shard = 0; shard < _stores.Length; shard++)
        {
            var ids = new List<string>();
            foreach (var entry in entries)
                if (entry.Shard == shard && entry.State == LedgerState.Stored) ids.Add(entry.Id);
            if (ids.Count == 0) continue;
            await foreach (var evt in _stores[shard].QueryAsync(new Filter { Ids = [.. ids] }, cancellationToken)) found[evt.Id] = evt;
        }
        return found;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var store in _stores) await store.DisposeAsync();
        await _ledger.DisposeAsync();
    }
}
