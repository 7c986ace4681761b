using NostrRelay.Protocol;

namespace NostrRelay.Storage.Sql;

/// <summary>
/// For a filter that names its authors and whose kinds are all replaceable or addressable (a client's profiles, relay
/// lists, follow lists, articles and sets of the people it follows): the address of each kind and author ("kind:pubkey:"),
/// which an addressable event's d tag follows. A SQL store's address index holds one row per replaceable event and one per
/// d tag of an addressable one, so a range of it from each of these to <see cref="End"/> finds the matches and nothing
/// else; its author index does not hold the kind, and read every event those authors ever stored to find them (fifty
/// profiles at 100,000 events in Sqlite: 3.5 ms against 0.15, docs/benchmarks.md).
/// </summary>
internal static class AddressPrefixes
{
    /// <summary>Most addresses one filter is read by; a longer list of kinds times authors goes by the author index.</summary>
    private const int MaxAddresses = 4_096;

    /// <summary>The prefixes, or null for any other filter or past <see cref="MaxAddresses"/>.</summary>
    public static string[]? Of(Filter filter)
    {
        if (filter.Ids is not null || filter.Kinds is not { Length: > 0 } kinds || filter.Authors is not { Length: > 0 } authors) return null;
        if ((long)kinds.Length * authors.Length > MaxAddresses) return null;
        foreach (var kind in kinds)
            if (!EventKind.IsReplaceable(kind) && !EventKind.IsAddressable(kind)) return null;
        var prefixes = new string[kinds.Length * authors.Length];
        var next = 0;
        foreach (var kind in kinds)
            foreach (var author in authors) prefixes[next++] = NostrEvent.AddressOf(kind, author);
        return prefixes;
    }

    /// <summary>The first string past every address that starts with <paramref name="prefix"/>: its last ':' made ';', the next character.</summary>
    public static string End(string prefix) => string.Concat(prefix.AsSpan(0, prefix.Length - 1), ";");
}
