using NostrRelay.Grains;
using NostrRelay.Protocol;
using NostrRelay.Subscriptions;

namespace NostrRelay.Cluster.Interest;

/// <summary>
/// Which condition of a filter stands for it, for the local <see cref="FilterIndex"/> and for what a silo tells
/// its peers it wants: ids, then authors, then its first tag, then kinds, the most selective first. Every event
/// the filter matches has one of that condition's values, so the keys are a superset of what the filter wants.
/// </summary>
internal static class InterestKeys
{
    public static IndexKeyKind Choose(Filter filter) =>
        filter.Ids is not null ? IndexKeyKind.Id
        : filter.Authors is not null ? IndexKeyKind.Author
        : filter.Tags is { Length: > 0 } ? IndexKeyKind.Tag
        : filter.Kinds is not null ? IndexKeyKind.Kind
        : IndexKeyKind.Scan;

    /// <summary>Adds the keys of a REQ's filters; a filter that cannot match adds none, one with no key condition adds "everything".</summary>
    public static void Collect(Filter[] filters, List<InterestKey> keys)
    {
        foreach (var filter in filters)
        {
            if (filter.CannotMatch) continue;
            switch (Choose(filter))
            {
                case IndexKeyKind.Id: foreach (var id in filter.Ids!) keys.Add(InterestKey.ForId(id)); break;
                case IndexKeyKind.Author: foreach (var author in filter.Authors!) keys.Add(InterestKey.ForAuthor(author)); break;
                case IndexKeyKind.Tag:
                    var tag = filter.Tags![0];
                    foreach (var value in tag.Values) keys.Add(InterestKey.ForTag(tag.Name, value));
                    break;
                case IndexKeyKind.Kind: foreach (var kind in filter.Kinds!) keys.Add(InterestKey.ForKind(kind)); break;
                default: keys.Add(InterestKey.Everything); break;
            }
        }
    }
}
