namespace NostrRelay.Protocol;

/// <summary>
/// One NIP-01 filter. Every condition present must hold; values inside one list are alternatives.
/// A list that is present but empty matches nothing, as nostr-tools' matchFilter does.
/// </summary>
[GenerateSerializer, Immutable, Alias("nostr.filter")]
public sealed record Filter
{
    [Id(0)] public string[]? Ids { get; init; }
    [Id(1)] public string[]? Authors { get; init; }
    [Id(2)] public int[]? Kinds { get; init; }
    [Id(3)] public TagFilter[]? Tags { get; init; }
    [Id(4)] public long? Since { get; init; }
    [Id(5)] public long? Until { get; init; }
    /// <summary>Maximum stored events for the initial query. The gateway always sets it (default_limit, capped at max_limit); to a store, null means no limit.</summary>
    [Id(6)] public int? Limit { get; init; }
    /// <summary>
    /// NIP-50 full-text search (<see cref="SearchQuery"/>): the content must have every word; stored results come best
    /// match first, the limit applied after ranking. Null, or a query with no word, does not narrow the filter.
    /// </summary>
    [Id(7)] public string? Search { get; init; }

    /// <summary>True when the filter narrows by words (a search with at least one word).</summary>
    public bool HasSearch => Search is not null && !SearchQuery.Parse(Search).IsEmpty;

    /// <summary>True when any of the filters narrows by words: their stored answer comes ranked, not newest first.</summary>
    public static bool AnySearch(Filter[] filters)
    {
        foreach (var filter in filters)
            if (filter.HasSearch) return true;
        return false;
    }

    public static Filter Everything { get; } = new();

    public bool Matches(NostrEvent e)
    {
        if (Ids is not null && Array.IndexOf(Ids, e.Id) < 0) return false;
        if (Authors is not null && Array.IndexOf(Authors, e.Pubkey) < 0) return false;
        if (Kinds is not null && Array.IndexOf(Kinds, e.Kind) < 0) return false;
        if (Since is { } since && e.CreatedAt < since) return false;
        if (Until is { } until && e.CreatedAt > until) return false;
        if (Tags is not null)
        {
            foreach (var condition in Tags)
                if (!HasTag(e, condition)) return false;
        }
        return Search is null || SearchQuery.Parse(Search).Matches(e.Content);
    }

    private static bool HasTag(NostrEvent e, TagFilter condition)
    {
        foreach (var tag in e.Tags)
        {
            if (tag.Length < 2 || tag[0].Length != 1 || tag[0][0] != condition.Name) continue;
            if (Array.IndexOf(condition.Values, tag[1]) >= 0) return true;
        }
        return false;
    }

    /// <summary>True when no event can match (an empty list, or since after until): neither the store nor live matching is asked.</summary>
    public bool CannotMatch =>
        Ids is { Length: 0 } || Authors is { Length: 0 } || Kinds is { Length: 0 }
        || (Since is { } s && Until is { } u && s > u) || HasEmptyTagList();

    private bool HasEmptyTagList()
    {
        if (Tags is null) return false;
        foreach (var t in Tags) if (t.Values.Length == 0) return true;
        return false;
    }
}
