using NostrRelay.Grains;
using NostrRelay.Protocol;
using NostrRelay.Storage;

namespace NostrRelay.Counting;

/// <summary>
/// NIP-45 COUNT over an event store. One filter is counted by the store's index; several are counted once per event
/// (each event read as its key: id, pubkey and kind, never as JSON where the store can help it) unless they cannot
/// overlap. Events of private kinds are left out unless a party of the connection may see them; the HyperLogLog
/// registers, when the request has an offset, cover the same events.
/// </summary>
internal sealed class EventCounter(IEventStore store)
{
    /// <summary>
    /// Ids held at most to count overlapping filters once each (about 20 MB): beyond it the answer is the sum of each
    /// filter's count, marked approximate, rather than memory without bound.
    /// </summary>
    internal const int MaxUnionKeys = 100_000;

    public async Task<CountResult> CountAsync(CountRequest request, CancellationToken cancellationToken)
    {
        var filters = new List<Filter>(request.Filters.Length);
        foreach (var filter in request.Filters)
            if (!filter.CannotMatch) filters.Add(filter.Limit is null ? filter : filter with { Limit = null });
        if (filters.Count == 0) return new CountResult(0);
        var visibility = new PrivateVisibility(request.PrivateKinds, request.Parties);
        var hll = request.HllOffset is { } offset ? new HyperLogLog(offset) : null;
        if (filters.Count > 1 && !Disjoint(filters))
        {
            var union = await CountUnionAsync(filters, visibility, hll, cancellationToken).ConfigureAwait(false);
            if (union is not null) return union;
            hll = request.HllOffset is { } again ? new HyperLogLog(again) : null;
            return new CountResult(await SumAsync(filters, visibility, hll, cancellationToken).ConfigureAwait(false), hll?.Values.ToArray(), Approximate: true);
        }
        return new CountResult(await SumAsync(filters, visibility, hll, cancellationToken).ConfigureAwait(false), hll?.Values.ToArray());
    }

    private async Task<long> SumAsync(List<Filter> filters, PrivateVisibility visibility, HyperLogLog? hll, CancellationToken cancellationToken)
    {
        long total = 0;
        foreach (var filter in filters) total += await CountOneAsync(filter, visibility, hll, cancellationToken).ConfigureAwait(false);
        return total;
    }

    /// <remarks>
    /// Without a snapshot across reads, the order keeps a write in between from revealing a private event: the parties'
    /// own events are read first and the gate's count last, so an event stored meanwhile can only be counted short.
    /// </remarks>
    private async Task<long> CountOneAsync(Filter filter, PrivateVisibility visibility, HyperLogLog? hll, CancellationToken cancellationToken)
    {
        var gate = visibility.Gate(filter);
        if (gate is null && hll is null) return await store.CountAsync(filter, cancellationToken).ConfigureAwait(false);
        var visible = gate is null ? null : await visibility.VisibleAsync(store, gate, cancellationToken).ConfigureAwait(false);
        if (hll is null)
        {
            var all = await store.CountAsync(filter, cancellationToken).ConfigureAwait(false);
            var gated = await store.CountAsync(gate!, cancellationToken).ConfigureAwait(false);
            return Math.Max(0, all - gated + visible!.Count);
        }
        long count = 0;
        await foreach (var key in store.ReadKeysAsync(filter, cancellationToken).ConfigureAwait(false))
        {
            if (visible is not null && visibility.IsPrivate(key.Kind) && !visible.Contains(key.Id)) continue;
            count++;
            hll.Add(key.Pubkey);
        }
        return count;
    }

    /// <summary>Overlapping filters: each match once, by id. Null when more than <see cref="MaxUnionKeys"/> would be held.</summary>
    private async Task<CountResult?> CountUnionAsync(List<Filter> filters, PrivateVisibility visibility, HyperLogLog? hll, CancellationToken cancellationToken)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var filter in filters)
        {
            var gate = visibility.Gate(filter);
            var visible = gate is null ? null : await visibility.VisibleAsync(store, gate, cancellationToken).ConfigureAwait(false);
            await foreach (var key in store.ReadKeysAsync(filter, cancellationToken).ConfigureAwait(false))
            {
                if (visible is not null && visibility.IsPrivate(key.Kind) && !visible.Contains(key.Id)) continue;
                // Registers keep a maximum, so a pubkey fed twice changes nothing: only the count needs the ids.
                hll?.Add(key.Pubkey);
                if (seen.Add(key.Id) && seen.Count > MaxUnionKeys) return null;
            }
        }
        return new CountResult(seen.Count, hll?.Values.ToArray());
    }

    /// <summary>True when no event can match two of the filters: their kinds, authors or ids never meet.</summary>
    private static bool Disjoint(List<Filter> filters)
    {
        for (var i = 0; i < filters.Count; i++)
            for (var j = i + 1; j < filters.Count; j++)
                if (!Apart(filters[i].Kinds, filters[j].Kinds) && !Apart(filters[i].Authors, filters[j].Authors) && !Apart(filters[i].Ids, filters[j].Ids))
                    return false;
        return true;
    }

    private static bool Apart<T>(T[]? a, T[]? b)
    {
        if (a is null || b is null) return false;
        foreach (var value in a)
            if (Array.IndexOf(b, value) >= 0) return false;
        return true;
    }
}
