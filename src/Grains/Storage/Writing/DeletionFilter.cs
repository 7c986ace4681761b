using NostrRelay.Protocol;

namespace NostrRelay.Storage.Writing;

/// <summary>
/// What the deletion requests of an embedded store name, as hashes held in memory by its one writer (string hashes are
/// seeded per process, which is all an in-memory set needs): a save
/// whose id (or address) no request names skips the store read that <see cref="DeletionRules.IsDeleted"/> would make,
/// which is nearly every save. A hash that matches only says "look": the store's read decides. Filled from the stored
/// requests when the writer starts and kept by it; a request removed later only costs a wasted read. Only for stores
/// with one writer: where several processes write (Postgres), a request another one stored would be missed.
/// </summary>
internal sealed class DeletionFilter
{
    private readonly HashSet<long> _named = [];

    /// <summary>Notes the e and a values of a deletion request; anything else is ignored.</summary>
    public void Add(NostrEvent evt)
    {
        if (evt.Kind != DeletionRules.DeletionRequestKind) return;
        foreach (var tag in evt.Tags)
            if (tag.Length >= 2 && tag[0] is "e" or "a") _named.Add(Hash(tag[0][0], tag[1]));
    }

    /// <summary>False when no deletion request names the value (certain); true when one may.</summary>
    public bool MayName(char tag, string value) => _named.Count > 0 && _named.Contains(Hash(tag, value));

    private static long Hash(char tag, string value) => ((long)tag << 32) | (uint)StringComparer.Ordinal.GetHashCode(value);
}
