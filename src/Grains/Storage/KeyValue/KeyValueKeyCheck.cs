using NostrRelay.Protocol;

namespace NostrRelay.Storage.KeyValue;

/// <summary>
/// Decides an index entry from its key and value alone, for COUNT's and NIP-77's keys: an index key's value carries
/// the event's kind and pubkey (<see cref="KeyValueKeys.TagValue"/>), the key its created_at and id. It applies to a
/// filter of kinds, authors, since and until with at most one tag condition (the index's), so the reactions to a note,
/// a pubkey's notes or every event are counted or reconciled without reading an event. A tag value is matched by its
/// 16-byte hash, so a collision (about 2^-128) would count an event the filter does not name. Entries written before
/// values carried the kind are read in full, as before.
/// </summary>
internal sealed class KeyValueKeyCheck
{
    private readonly HashSet<int>? _kinds;
    private readonly HashSet<string>? _authors;
    private readonly List<EventKey>? _keys;

    private KeyValueKeyCheck(Filter filter, List<EventKey>? keys)
    {
        if (filter.Kinds is { } kinds) _kinds = [.. kinds];
        if (filter.Authors is { } authors) _authors = new HashSet<string>(authors, StringComparer.Ordinal);
        _keys = keys;
    }

    /// <summary>A check for this filter and plan, or null when some condition needs the event itself.</summary>
    public static KeyValueKeyCheck? For(Filter filter, KeyValueScanPlan plan, List<EventKey>? keys = null)
    {
        if (filter.Ids is not null || filter.Search is not null || filter.Tags is { Length: > 1 }) return null;
        if (plan.Prefixes.Length == 0) return null;
        var index = plan.Prefixes[0][0];
        if (filter.Tags is { Length: 1 } ? index != KeyValueKeys.ByTag : index is not (KeyValueKeys.ByCreatedAt or KeyValueKeys.ByKind or KeyValueKeys.ByPubkey or KeyValueKeys.ByPubkeyKind))
            return null;
        return new KeyValueKeyCheck(filter, keys);
    }

    public bool Matches(int kind, ReadOnlySpan<byte> pubkey32, ReadOnlySpan<byte> order)
    {
        if (_kinds is not null && !_kinds.Contains(kind)) return false;
        string? pubkey = null;
        if (_authors is not null && !_authors.Contains(pubkey = Convert.ToHexStringLower(pubkey32))) return false;
        _keys?.Add(new EventKey(Convert.ToHexStringLower(order[8..]), pubkey ?? Convert.ToHexStringLower(pubkey32), kind, KeyValueKeys.CreatedAtOfOrder(order)));
        return true;
    }

    /// <summary>An entry read in full (an older one) that matched.</summary>
    public void Add(NostrEvent evt) => _keys?.Add(new EventKey(evt.Id, evt.Pubkey, evt.Kind, evt.CreatedAt));
}
