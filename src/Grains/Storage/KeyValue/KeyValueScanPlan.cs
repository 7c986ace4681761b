using NostrRelay.Protocol;

namespace NostrRelay.Storage.KeyValue;

/// <summary>
/// Which index a filter (without ids) is read from: one key prefix per value of its most selective condition,
/// each scanned newest first and merged. Authors (with their kinds, while the pairs are few), else the tag
/// condition with the fewest values when it has fewer than the authors, else kinds, else everything by created_at.
/// </summary>
internal sealed class KeyValueScanPlan
{
    /// <summary>Past this many (author, kind) pairs, scan by author and check kinds on each event instead.</summary>
    private const int MaxPairPrefixes = 256;

    private KeyValueScanPlan(byte[][] prefixes, bool exact)
    {
        Prefixes = prefixes;
        Exact = exact;
    }

    /// <summary>One per value; all of one length. Empty when nothing can match.</summary>
    public byte[][] Prefixes { get; }

    /// <summary>
    /// True when the keys alone decide a match (the index covers every condition but since/until, which the scan
    /// checks on the key, and holds no hashed value), so a count need not read the events.
    /// </summary>
    public bool Exact { get; }

    public static KeyValueScanPlan For(Filter filter)
    {
        var plan = ForConditions(filter);
        if (SearchQuery.Parse(filter.Search ?? "") is not { IsEmpty: false } search) return plan;
        // NIP-50: the words are checked on every event. Unless authors or a tag narrow the scan, read the postings of
        // the query's longest word (usually its rarest) instead of a kind or of everything.
        if (plan.Prefixes.Length > 0 && (plan.Prefixes[0][0] is KeyValueKeys.ByKind or KeyValueKeys.ByCreatedAt))
        {
            var longest = search.Terms[0];
            foreach (var term in search.Terms) if (term.Length > longest.Length) longest = term;
            return new KeyValueScanPlan([KeyValueKeys.WordPrefix(longest)], exact: false);
        }
        return new KeyValueScanPlan(plan.Prefixes, exact: false);
    }

    private static KeyValueScanPlan ForConditions(Filter filter)
    {
        var tagCondition = SmallestTagCondition(filter.Tags);
        var authorCount = filter.Authors?.Length ?? int.MaxValue;
        if (tagCondition is not null && tagCondition.Values.Length < authorCount)
        {
            var values = new HashSet<string>(tagCondition.Values, StringComparer.Ordinal);
            var prefixes = new byte[values.Count][];
            var i = 0;
            foreach (var value in values) prefixes[i++] = KeyValueKeys.TagPrefix(tagCondition.Name, value);
            return new KeyValueScanPlan(prefixes, exact: false);
        }
        if (filter.Authors is { } authors)
        {
            var pubkeys = new List<byte[]>(authors.Length);
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var author in authors)
            {
                var pubkey = new byte[32];
                if (seen.Add(author) && KeyValueKeys.TryHex32(author, pubkey)) pubkeys.Add(pubkey);   // other strings match no stored event
            }
            var kinds = filter.Kinds is null ? null : new HashSet<int>(filter.Kinds);
            if (kinds is not null && (long)pubkeys.Count * kinds.Count <= MaxPairPrefixes)
            {
                var pairs = new List<byte[]>(pubkeys.Count * kinds.Count);
                foreach (var pubkey in pubkeys)
                    foreach (var kind in kinds) pairs.Add(KeyValueKeys.PubkeyKindPrefix(pubkey, kind));
                return new KeyValueScanPlan(pairs.ToArray(), exact: filter.Tags is null);
            }
            var byAuthor = new byte[pubkeys.Count][];
            for (var i = 0; i < byAuthor.Length; i++) byAuthor[i] = KeyValueKeys.PubkeyPrefix(pubkeys[i]);
            return new KeyValueScanPlan(byAuthor, exact: filter.Kinds is null && filter.Tags is null);
        }
        if (filter.Kinds is { } kindList)
        {
            var distinct = new HashSet<int>(kindList);
            var prefixes = new byte[distinct.Count][];
            var i = 0;
            foreach (var kind in distinct) prefixes[i++] = KeyValueKeys.KindPrefix(kind);
            return new KeyValueScanPlan(prefixes, exact: true);
        }
        return new KeyValueScanPlan([KeyValueKeys.CreatedAtPrefix], exact: true);
    }

    private static TagFilter? SmallestTagCondition(TagFilter[]? tags)
    {
        if (tags is null) return null;
        TagFilter? smallest = null;
        foreach (var condition in tags)
            if (smallest is null || condition.Values.Length < smallest.Values.Length) smallest = condition;
        return smallest;
    }
}
