using System.Runtime.CompilerServices;
using NostrRelay.Protocol;
using NostrRelay.Storage.Paging;

namespace NostrRelay.Storage.Compositions;

/// <summary>
/// Merges several stores' answers to one filter into one answer: NIP-01 order (created_at desc, id asc),
/// each id once, at most the filter's limit. Each store already answers in that order with the limit, so
/// the merged first N are among the stores' first N, and copies of one event sit next to each other.
/// </summary>
internal static class NostrOrderMerge
{
    public static async IAsyncEnumerable<NostrEvent> MergeAsync(IReadOnlyList<IEventStore> stores, Filter filter,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        if (stores.Count == 1)
        {
            await foreach (var evt in stores[0].QueryAsync(filter, cancellationToken)) yield return evt;
            yield break;
        }
        if (SearchRanking.Split(filter).Query is { } search)
        {
            await foreach (var evt in SearchMerge.MergeAsync(stores, filter, search, cancellationToken)) yield return evt;
            yield break;
        }
        var remaining = filter.Limit ?? int.MaxValue;
        if (remaining <= 0 || filter.CannotMatch) yield break;

        var cursors = new IAsyncEnumerator<NostrEvent>[stores.Count];
        var heads = new NostrEvent?[stores.Count];
        try
        {
            var first = new Task<bool>[stores.Count];
            for (var i = 0; i < stores.Count; i++)
            {
                cursors[i] = stores[i].QueryAsync(filter, cancellationToken).GetAsyncEnumerator(cancellationToken);
                first[i] = cursors[i].MoveNextAsync().AsTask();   // the stores start reading at once, side by side
            }
            for (var i = 0; i < stores.Count; i++) heads[i] = await first[i] ? cursors[i].Current : null;

            string? lastId = null;
            while (remaining > 0)
            {
                var next = -1;
                for (var i = 0; i < heads.Length; i++)
                    if (heads[i] is { } candidate && (next < 0 || NostrEvent.CompareNewestFirst(candidate, heads[next]!) < 0)) next = i;
                if (next < 0) yield break;

                var evt = heads[next]!;
                heads[next] = await cursors[next].MoveNextAsync() ? cursors[next].Current : null;
                if (string.Equals(evt.Id, lastId, StringComparison.Ordinal)) continue;   // the same event from another store
                lastId = evt.Id;
                remaining--;
                yield return evt;
            }
        }
        finally
        {
            foreach (var cursor in cursors)
                if (cursor is not null) await cursor.DisposeAsync();
        }
    }
}
