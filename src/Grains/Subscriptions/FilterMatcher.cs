using NostrRelay.Protocol;

namespace NostrRelay.Subscriptions;

/// <summary>
/// A filter made ready for live matching: lists longer than <see cref="SetThreshold"/> values are looked up in a
/// set, so a filter near <c>Relay:Limits:MaxFilterValues</c> costs its neighbours about what a short one does
/// (<see cref="Filter.Matches"/> scans each list, which at thousands of values is microseconds per event).
/// Same semantics as <see cref="Filter.Matches"/>.
/// </summary>
internal sealed class FilterMatcher
{
    private const int SetThreshold = 16;

    private readonly Filter _filter;
    private readonly HashSet<string>? _ids;
    private readonly HashSet<string>? _authors;
    private readonly HashSet<int>? _kinds;
    private readonly HashSet<string>?[]? _tagValues;
    private readonly SearchQuery? _search;

    public FilterMatcher(Filter filter)
    {
        _filter = filter;
        if (filter.Search is { } search && SearchQuery.Parse(search) is { IsEmpty: false } query) _search = query;
        if (filter.Ids is { Length: > SetThreshold } ids) _ids = new HashSet<string>(ids, StringComparer.Ordinal);
        if (filter.Authors is { Length: > SetThreshold } authors) _authors = new HashSet<string>(authors, StringComparer.Ordinal);
        if (filter.Kinds is { Length: > SetThreshold } kinds) _kinds = [.. kinds];
        if (filter.Tags is { } tags)
        {
            for (var i = 0; i < tags.Length; i++)
            {
                if (tags[i].Values.Length <= SetThreshold) continue;
                _tagValues ??= new HashSet<string>?[tags.Length];
                _tagValues[i] = new HashSet<string>(tags[i].Values, StringComparer.Ordinal);
            }
        }
    }

    public bool Matches(NostrEvent e)
    {
        var f = _filter;
        if (f.Ids is { } ids && !(_ids?.Contains(e.Id) ?? Array.IndexOf(ids, e.Id) >= 0)) return false;
        if (f.Authors is { } authors && !(_authors?.Contains(e.Pubkey) ?? Array.IndexOf(authors, e.Pubkey) >= 0)) return false;
        if (f.Kinds is { } kinds && !(_kinds?.Contains(e.Kind) ?? Array.IndexOf(kinds, e.Kind) >= 0)) return false;
        if (f.Since is { } since && e.CreatedAt < since) return false;
        if (f.Until is { } until && e.CreatedAt > until) return false;
        if (f.Tags is { } tags)
        {
            for (var i = 0; i < tags.Length; i++)
                if (!HasTag(e, tags[i], _tagValues?[i])) return false;
        }
        return _search is null || _search.Matches(e.Content);
    }

    private static bool HasTag(NostrEvent e, TagFilter condition, HashSet<string>? set)
    {
        foreach (var tag in e.Tags)
        {
            if (tag.Length < 2 || tag[0].Length != 1 || tag[0][0] != condition.Name) continue;
            if (set?.Contains(tag[1]) ?? Array.IndexOf(condition.Values, tag[1]) >= 0) return true;
        }
        return false;
    }
}
