using NostrRelay.Grains;
using NostrRelay.Protocol;
using NostrRelay.Storage;

namespace NostrRelay.Counting;

/// <summary>
/// NIP-45 COUNT over an event store. One filter is counted by the store's index; several are counted once per event
/// (each event is read as its id and pubkey, never as JSON, where the store can help it) unless they cannot overlap.
/// Events of private kinds are left out unless a party of the connection may see them; the HyperLogLog registers,
/// when the filters allow them, cover the same events.
/// </summary>
internal sealed class EventCounter(IEventStore store)
{
    /// <summary>
    /// Ids held at most to count overlapping filters once each: beyond it the answer is the sum of each filter's
    /// count, marked approximate, rather than memory without bound.
    /// </summary>
    internal const int MaxUnionKeys = 1_000_000;

    public async Task<CountResult> CountAsync(CountRequest request, CancellationToken cancellationToken)
    {
        var filters = new List<Filter>(request.Filters.Length);
        foreach (var filter in request.Filters)
            if (!filter.CannotMatch) filters.Add(filter.Limit is null ? filter : filter with { Limit = null });
        if (filters.Count == 0) return new CountResult(0);
        var visibility = new PrivateVisibility(request.PrivateKinds, request.Parties);
        var hll = HllFor(request.Filters);
        if (filters.Count > 1 && !Disjoint(filters))
        {
            var union = await CountUnionAsync(filters, visibility, hll, cancellationToken).ConfigureAwait(false);
            if (union is not null) return union;
            hll = HllFor(request.Filters);
            return new CountResult(await SumAsync(filters, visibility, hll, cancellationToken).ConfigureAwait(false), hll?.Values.ToArray(), Approximate: true);
        }
        return new CountResult(await SumAsync(filters, visibility, hll, cancellationToken).ConfigureAwait(false), hll?.Values.ToArray());
    }

    /// <summary>NIP-45 defines the registers for filters with a tag condition; several filters share them only when their offsets agree.</summary>
    private static HyperLogLog? HllFor(Filter[] filters)
    {
        int? offset = null;
        foreach (var filter in filters)
        {
            var own = HyperLogLog.OffsetFor(filter);
            if (own is null || (offset is not null && own != offset)) return null;
            offset = own;
        }
        return offset is { } value ? new HyperLogLog(value) : null;
    }

    private async Task<long> SumAsync(List<Filter> filters, PrivateVisibility visibility, HyperLogLog? hll, CancellationToken cancellationToken)
    {
        long total = 0;
        foreach (var filter in filters) total += await CountOneAsync(filter, visibility, hll, cancellationToken).ConfigureAwait(false);
        return total;
    }

    private async Task<long> CountOneAsync(Filter filter, PrivateVisibility visibility, HyperLogLog? hll, CancellationToken cancellationToken)
    {
        var gate = visibility.Gate(filter);
        if (gate is null && hll is null) return await store.CountAsync(filter, cancellationToken).ConfigureAwait(false);
        if (gate is not null && hll is null && !visibility.HasParties)
            return await store.CountAsync(filter, cancellationToken).ConfigureAwait(false) - await store.CountAsync(gate, cancellationToken).ConfigureAwait(false);
        var hidden = gate is null ? null : await HiddenAsync(gate, visibility, cancellationToken).ConfigureAwait(false);
        if (hll is null) return await store.CountAsync(filter, cancellationToken).ConfigureAwait(false) - hidden!.Count;
        long count = 0;
        await foreach (var key in store.ReadKeysAsync(filter, cancellationToken).ConfigureAwait(false))
        {
            if (hidden is not null && hidden.Contains(key.Id)) continue;
            count++;
            hll.Add(key.Pubkey);
        }
        return count;
    }

    /// <summary>Overlapping filters: each match once, by id. Null when more than <see cref="MaxUnionKeys"/> would be held.</summary>
    private async Task<CountResult?> CountUnionAsync(List<Filter> filters, PrivateVisibility visibility, HyperLogLog? hll, CancellationToken cancellationToken)
    {
        var seen = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var filter in filters)
            await foreach (var key in store.ReadKeysAsync(filter, cancellationToken).ConfigureAwait(false))
            {
                seen.TryAdd(key.Id, key.Pubkey);
                if (seen.Count > MaxUnionKeys) return null;
            }
        // Whether a party may see an event depends on the event alone, so what one filter's gate hides is hidden from all.
        foreach (var filter in filters)
            if (visibility.Gate(filter) is { } gate)
                foreach (var id in await HiddenAsync(gate, visibility, cancellationToken).ConfigureAwait(false))
                    seen.Remove(id);
        if (hll is not null)
            foreach (var pubkey in seen.Values) hll.Add(pubkey);
        return new CountResult(seen.Count, hll?.Values.ToArray());
    }

    /// <summary>The ids among a gate's matches that no party of the connection may see.</summary>
    private async Task<HashSet<string>> HiddenAsync(Filter gate, PrivateVisibility visibility, CancellationToken cancellationToken)
    {
        var hidden = new HashSet<string>(StringComparer.Ordinal);
        await foreach (var key in store.ReadKeysAsync(gate, cancellationToken).ConfigureAwait(false)) hidden.Add(key.Id);
        foreach (var exemption in visibility.Exemptions(gate))
            await foreach (var key in store.ReadKeysAsync(exemption, cancellationToken).ConfigureAwait(false)) hidden.Remove(key.Id);
        return hidden;
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
