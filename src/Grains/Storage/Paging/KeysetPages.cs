using System.Runtime.CompilerServices;
using NostrRelay.Protocol;

namespace NostrRelay.Storage.Paging;

/// <summary>
/// Reads a query's answer page by page in NIP-01 order, each page starting after the last event of the one
/// before (keyset paging). A page is read whole and its connection returned before the consumer sees it, so
/// a slow consumer never holds a snapshot open (which would stop WAL checkpoints and vacuum).
/// </summary>
internal static class KeysetPages
{
    /// <param name="readPage">Fills the list (cleared first) with up to <c>take</c> matches after the cursor.</param>
    public static async IAsyncEnumerable<NostrEvent> ReadAsync(Filter filter, int pageSize,
        Func<EventCursor?, int, List<NostrEvent>, CancellationToken, Task> readPage,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        if (filter.CannotMatch || filter.Limit is <= 0) yield break;
        var remaining = filter.Limit ?? int.MaxValue;
        var page = new List<NostrEvent>(Math.Min(remaining, pageSize));
        EventCursor? after = null;
        while (remaining > 0)
        {
            var take = Math.Min(remaining, pageSize);
            page.Clear();
            await readPage(after, take, page, cancellationToken).ConfigureAwait(false);
            foreach (var evt in page) yield return evt;
            if (page.Count < take) yield break;
            remaining -= page.Count;
            var last = page[^1];
            after = new EventCursor(last.CreatedAt, last.Id);
        }
    }
}
