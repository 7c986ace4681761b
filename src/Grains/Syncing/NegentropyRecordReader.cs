using NostrRelay.Counting;
using NostrRelay.Grains;
using NostrRelay.Storage;
using NostrRelay.Sync;

namespace NostrRelay.Syncing;

/// <summary>
/// The records of a NEG-OPEN's filter, read as event keys (<see cref="IEventStore.ReadKeysAsync"/>: columns in the SQL
/// stores, never the events' JSON where the store can help it). Events of private kinds are left out unless a party of
/// the connection may see them: otherwise a reconciliation would reveal that a message exists, and its id.
/// </summary>
internal sealed class NegentropyRecordReader(IEventStore store)
{
    public async Task<NegentropyRead> ReadAsync(NegentropyRequest request, CancellationToken cancellationToken)
    {
        var filter = request.Filter;
        if (filter.CannotMatch) return new NegentropyRead(NegentropySet.Empty, 0);
        var visibility = new PrivateVisibility(request.PrivateKinds, request.Parties);
        var gate = visibility.Gate(filter);
        // The parties' own messages first, the rest after: a message stored in between is left out, never revealed.
        var visible = gate is null ? null : await visibility.VisibleAsync(store, gate, cancellationToken).ConfigureAwait(false);
        // A limit within the bound keeps the newest that many however many match, holding at most about twice as many.
        var limit = filter.Limit is { } written && written <= request.MaxRecords ? written : (int?)null;
        var records = new NegentropySet.Builder();
        long matched = 0;
        await foreach (var key in store.ReadKeysAsync(filter with { Limit = null }, cancellationToken).ConfigureAwait(false))
        {
            if (visible is not null && visibility.IsPrivate(key.Kind) && !visible.Contains(key.Id)) continue;
            if (++matched > request.MaxRecords && limit is null) return new NegentropyRead(null, matched);
            records.Add(key.CreatedAt, key.Id);
            if (limit is { } newest && records.Count >= 2 * newest + 1024) records.KeepNewest(newest);
        }
        if (limit is { } kept) records.KeepNewest(kept);
        var set = records.Build();
        return new NegentropyRead(set, set.Count);
    }
}
