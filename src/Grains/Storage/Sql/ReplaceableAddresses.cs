using NostrRelay.Protocol;

namespace NostrRelay.Storage.Sql;

/// <summary>
/// For a filter that names its authors and asks only for replaceable kinds (a client's profiles, follow lists and relay
/// lists of the people it follows): the address of each kind and author, "kind:pubkey:", which holds at most one event. A
/// SQL store's address index finds those events and nothing else; its author index does not hold the kind, and read every
/// event those authors ever stored to find them (fifty profiles at 100,000 events in Sqlite: 3.5 ms against 0.15,
/// docs/benchmarks.md). Addressable kinds are left to the author index: an author may keep any number of events of one
/// (a d tag each), which that index pages through newest first, where the addresses would all be read to find a page.
/// </summary>
internal static class ReplaceableAddresses
{
    /// <summary>Most addresses one filter is read by; a longer list of kinds times authors goes by the author index.</summary>
    private const int MaxAddresses = 4_096;

    /// <summary>
    /// True when the filter's matches are the events at <see cref="Of"/>. Authors must be keys as NIP-01 writes them
    /// (64 lowercase hex digits): any other string could hold a ':' and name another author's address.
    /// </summary>
    public static bool Apply(Filter filter)
    {
        if (filter.Ids is not null || filter.Kinds is not { Length: > 0 } kinds || filter.Authors is not { Length: > 0 } authors) return false;
        if ((long)kinds.Length * authors.Length > MaxAddresses) return false;
        foreach (var kind in kinds)
            if (!EventKind.IsReplaceable(kind)) return false;
        foreach (var author in authors)
            if (!Hex.IsLowerHex(author, 64)) return false;
        return true;
    }

    /// <summary>The address of each kind and author of a filter that <see cref="Apply"/>s.</summary>
    public static string[] Of(Filter filter)
    {
        var (kinds, authors) = (filter.Kinds!, filter.Authors!);
        var addresses = new string[kinds.Length * authors.Length];
        var next = 0;
        foreach (var kind in kinds)
            foreach (var author in authors) addresses[next++] = NostrEvent.AddressOf(kind, author);
        return addresses;
    }
}
