using System.Runtime.CompilerServices;
using NostrRelay.Protocol;
using NostrRelay.Storage.Paging;

namespace NostrRelay.Storage.Compositions;

/// <summary>
/// NIP-50 across several stores: each answers with its best (at most the limit); their rankings are not comparable
/// (bm25 in one, ts_rank in another), so the union, each id once, is ranked again by one measure and cut to the limit.
/// </summary>
internal static class SearchMerge
{
    public static async IAsyncEnumerable<NostrEvent> MergeAsync(IReadOnlyList<IEventStore> stores, Filter filter, SearchQuery query,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var limit = filter.Limit ?? int.MaxValue;
        if (limit <= 0 || filter.CannotMatch) yield break;
        var found = new Dictionary<string, NostrEvent>(StringComparer.Ordinal);
        foreach (var store in stores)
            await foreach (var evt in store.QueryAsync(filter, cancellationToken).ConfigureAwait(false))
                found.TryAdd(evt.Id, evt);
        foreach (var evt in SearchRanking.Best(found.Values, query, limit)) yield return evt;
    }

    /// <summary>Stores can search together only when each can.</summary>
    public static bool AllCanSearch(IEnumerable<IEventStore> stores)
    {
        foreach (var store in stores)
            if (!store.CanSearch) return false;
        return true;
    }
}
