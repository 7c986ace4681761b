using NostrRelay.Protocol;

namespace NostrRelay.Storage.Paging;

/// <summary>
/// NIP-50's order for stores that rank without a search engine (Memory, RocksDb) and for compositions merging the
/// answers of several stores: "descending order by quality of search result", then newest first; "the limit filter
/// SHOULD be applied after sorting by matching score".
/// </summary>
internal static class SearchRanking
{
    /// <summary>
    /// The newest events with every word that a store ranks, at most: "the" or "gm" on a store of millions must cost a
    /// bounded read. Older matches beyond it are not found by that query.
    /// </summary>
    public const int MaxCandidates = 10_000;

    /// <summary>The best <paramref name="limit"/> of <paramref name="candidates"/>, each scored once.</summary>
    public static List<NostrEvent> Best(IEnumerable<NostrEvent> candidates, SearchQuery query, int limit)
    {
        var scored = new List<(double Score, NostrEvent Event)>();
        foreach (var evt in candidates) scored.Add((query.Score(evt.Content), evt));
        scored.Sort(static (a, b) => a.Score != b.Score ? b.Score.CompareTo(a.Score) : NostrEvent.CompareNewestFirst(a.Event, b.Event));
        var best = new List<NostrEvent>(Math.Min(limit, scored.Count));
        for (var i = 0; i < scored.Count && i < limit; i++) best.Add(scored[i].Event);
        return best;
    }

    /// <summary>The filter without its search, and the parsed search (null when it has no word: then it does not narrow).</summary>
    public static (Filter Structural, SearchQuery? Query) Split(Filter filter)
    {
        if (filter.Search is not { } search) return (filter, null);
        var query = SearchQuery.Parse(search);
        return (filter with { Search = null }, query.IsEmpty ? null : query);
    }
}
