using NostrRelay.Cluster.Interest;
using NostrRelay.Protocol;

namespace NostrRelay.Subscriptions;

/// <summary>
/// An inverted index of live filters. Each filter is filed under the values of its most selective
/// condition (<see cref="InterestKeys.Choose"/>: ids, then authors, then one tag, then kinds); only filters with none of those are
/// scanned. Matching an event costs the filters that share a key with it, not every filter.
/// </summary>
internal sealed class FilterIndex
{
    private readonly Dictionary<string, List<IndexEntry>> _byId = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<IndexEntry>> _byAuthor = new(StringComparer.Ordinal);
    private readonly Dictionary<(char, string), List<IndexEntry>> _byTag = new();
    private readonly Dictionary<int, List<IndexEntry>> _byKind = new();
    private readonly List<IndexEntry> _scan = [];
    private long _stamp;

    public int FilterCount { get; private set; }

    public void Add(LiveSubscription subscription)
    {
        foreach (var filter in subscription.Filters)
        {
            if (filter.CannotMatch) continue;
            var keyKind = InterestKeys.Choose(filter);
            var entry = new IndexEntry(subscription, filter, keyKind);
            switch (keyKind)
            {
                case IndexKeyKind.Id: foreach (var id in filter.Ids!) File(_byId, id, entry); break;
                case IndexKeyKind.Author: foreach (var author in filter.Authors!) File(_byAuthor, author, entry); break;
                case IndexKeyKind.Tag: foreach (var value in filter.Tags![0].Values) File(_byTag, (filter.Tags[0].Name, value), entry); break;
                case IndexKeyKind.Kind: foreach (var kind in filter.Kinds!) File(_byKind, kind, entry); break;
                default: _scan.Add(entry); break;
            }
            subscription.Entries.Add(entry);
            FilterCount++;
        }
    }

    public void Remove(LiveSubscription subscription)
    {
        foreach (var entry in subscription.Entries)
        {
            var filter = entry.Filter;
            switch (entry.KeyKind)
            {
                case IndexKeyKind.Id: foreach (var id in filter.Ids!) Unfile(_byId, id, entry); break;
                case IndexKeyKind.Author: foreach (var a in filter.Authors!) Unfile(_byAuthor, a, entry); break;
                case IndexKeyKind.Tag: foreach (var v in filter.Tags![0].Values) Unfile(_byTag, (filter.Tags[0].Name, v), entry); break;
                case IndexKeyKind.Kind: foreach (var k in filter.Kinds!) Unfile(_byKind, k, entry); break;
                default: _scan.Remove(entry); break;
            }
            FilterCount--;
        }
        subscription.Entries.Clear();
    }

    /// <summary>Adds to <paramref name="matches"/> each subscription with a filter matching the event, once.</summary>
    public void Match(NostrEvent evt, List<LiveSubscription> matches)
    {
        var stamp = ++_stamp;
        if (_byId.TryGetValue(evt.Id, out var list)) Check(list, evt, stamp, matches);
        if (_byAuthor.TryGetValue(evt.Pubkey, out list)) Check(list, evt, stamp, matches);
        if (_byKind.TryGetValue(evt.Kind, out list)) Check(list, evt, stamp, matches);
        if (_byTag.Count > 0)
        {
            foreach (var tag in evt.Tags)
            {
                if (tag.Length < 2 || tag[0].Length != 1) continue;
                if (_byTag.TryGetValue((tag[0][0], tag[1]), out list)) Check(list, evt, stamp, matches);
            }
        }
        if (_scan.Count > 0) Check(_scan, evt, stamp, matches);
    }

    private static void Check(List<IndexEntry> entries, NostrEvent evt, long stamp, List<LiveSubscription> matches)
    {
        for (var i = 0; i < entries.Count; i++)
        {
            var entry = entries[i];
            var subscription = entry.Subscription;
            if (subscription.LastMatchStamp == stamp || !entry.Matcher.Matches(evt)) continue;
            subscription.LastMatchStamp = stamp;   // NIP-01: one EVENT per subscription even when several filters match.
            matches.Add(subscription);
        }
    }

    private static void File<TKey>(Dictionary<TKey, List<IndexEntry>> index, TKey key, IndexEntry entry) where TKey : notnull
    {
        if (!index.TryGetValue(key, out var list)) index[key] = list = [];
        if (list.Count == 0 || !ReferenceEquals(list[^1], entry)) list.Add(entry);   // a value listed twice files once.
    }

    private static void Unfile<TKey>(Dictionary<TKey, List<IndexEntry>> index, TKey key, IndexEntry entry) where TKey : notnull
    {
        if (!index.TryGetValue(key, out var list)) return;
        list.Remove(entry);
        if (list.Count == 0) index.Remove(key);
    }
}
