using NostrRelay.Protocol;
using NostrRelay.Storage;

namespace NostrRelay.Counting;

/// <summary>
/// Which events of private kinds a COUNT or a NIP-77 reconciliation may include: those an authenticated party of the connection wrote or whose
/// <c>p</c> tags name one. Decides, per filter, what part of its matches has to be looked at.
/// </summary>
internal sealed class PrivateVisibility(int[]? privateKinds, string[]? parties)
{
    public static PrivateVisibility Open { get; } = new(null, null);

    private readonly HashSet<string> _parties = parties is null ? [] : new HashSet<string>(parties, StringComparer.Ordinal);

    public bool IsPrivate(int kind) => privateKinds is not null && Array.IndexOf(privateKinds, kind) >= 0;

    /// <summary>
    /// The filter's matches that might be hidden (the filter narrowed to the private kinds it can match), or null when
    /// none can be: it names no private kind, or it is about the parties alone (all its authors, or all its <c>#p</c>
    /// values, are theirs).
    /// </summary>
    public Filter? Gate(Filter filter)
    {
        if (privateKinds is not { Length: > 0 }) return null;
        var kinds = filter.Kinds is null ? privateKinds : Intersect(filter.Kinds, privateKinds);
        if (kinds.Length == 0) return null;
        if (AllParties(filter.Authors) || AllParties(TagValues(filter, 'p'))) return null;
        return filter with { Kinds = kinds };
    }

    /// <summary>Filters whose matches, among a gate's, are visible: written by a party, or <c>p</c>-tagging one.</summary>
    public IEnumerable<Filter> Exemptions(Filter gate)
    {
        if (_parties.Count == 0) yield break;
        var parties = _parties.ToArray();
        var authors = gate.Authors is null ? parties : Intersect(gate.Authors, parties);
        if (authors.Length > 0) yield return gate with { Authors = authors };
        // The p condition replaced: these reach beyond the gate, but only the gate's own matches are exempted by them.
        var tags = new List<TagFilter> { new('p', parties) };
        if (gate.Tags is not null)
            foreach (var tag in gate.Tags)
                if (tag.Name != 'p') tags.Add(tag);
        yield return gate with { Tags = [.. tags] };
    }

    /// <summary>
    /// The ids of the gate's matches a party of the connection may see: the parties' own messages, written by them or
    /// <c>p</c>-tagging them, so as many as they have, not as many as the relay holds. Read as events, because the
    /// <c>p</c> exemption reaches past the gate's own conditions and each is checked against it.
    /// </summary>
    public async Task<HashSet<string>> VisibleAsync(IEventStore store, Filter gate, CancellationToken cancellationToken)
    {
        var visible = new HashSet<string>(StringComparer.Ordinal);
        foreach (var exemption in Exemptions(gate))
            await foreach (var evt in store.QueryAsync(exemption with { Limit = null }, cancellationToken).ConfigureAwait(false))
                if (gate.Matches(evt)) visible.Add(evt.Id);
        return visible;
    }

    private bool AllParties(string[]? pubkeys)
    {
        if (pubkeys is not { Length: > 0 }) return false;
        foreach (var pubkey in pubkeys)
            if (!_parties.Contains(pubkey)) return false;
        return true;
    }

    private static string[]? TagValues(Filter filter, char name)
    {
        if (filter.Tags is null) return null;
        foreach (var tag in filter.Tags)
            if (tag.Name == name) return tag.Values;
        return null;
    }

    private static T[] Intersect<T>(T[] values, T[] allowed)
    {
        var kept = new List<T>();
        foreach (var value in values)
            if (Array.IndexOf(allowed, value) >= 0 && !kept.Contains(value)) kept.Add(value);
        return [.. kept];
    }
}
