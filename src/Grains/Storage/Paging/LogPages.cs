using System.Runtime.CompilerServices;

namespace NostrRelay.Storage.Paging;

/// <summary>
/// Reads stored events in log order (by global position, or by version within one stream) page by page, each
/// page starting after the last one read. A page is read whole and its connection or snapshot released before
/// the consumer sees it, so a slow bookmark consumer never holds one open.
/// </summary>
internal static class LogPages
{
    /// <param name="byVersion">Pages follow <see cref="StoredEvent.Version"/> (one stream) rather than <see cref="StoredEvent.Position"/>.</param>
    /// <param name="readPage">Fills the list (cleared first) with up to <c>take</c> events after the key, in order.</param>
    public static async IAsyncEnumerable<StoredEvent> ReadAsync(long after, int max, int pageSize, bool byVersion,
        Func<long, int, List<StoredEvent>, CancellationToken, ValueTask> readPage,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var remaining = max;
        var page = new List<StoredEvent>(Math.Clamp(max, 0, pageSize));
        while (remaining > 0)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var take = Math.Min(remaining, pageSize);
            page.Clear();
            await readPage(after, take, page, cancellationToken).ConfigureAwait(false);
            foreach (var stored in page) yield return stored;
            if (page.Count < take) yield break;
            remaining -= page.Count;
            after = byVersion ? page[^1].Version : page[^1].Position;
        }
    }
}
