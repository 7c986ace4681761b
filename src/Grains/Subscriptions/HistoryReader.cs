using NostrRelay.Protocol;
using NostrRelay.Storage;

namespace NostrRelay.Subscriptions;

/// <summary>
/// The stored events of one REQ, page by page: each filter is queried with its own limit (NIP-01) and the answers
/// are merged newest first, each id once. Only the store's current page per filter is held, never the whole
/// answer, so a REQ for thousands of events costs memory near one page while it waits for its client to read.
/// </summary>
internal sealed class HistoryReader(IEventStore store, Filter[] filters) : IAsyncDisposable
{
    private IAsyncEnumerator<NostrEvent>?[]? _cursors;
    private NostrEvent?[] _heads = [];
    private string? _lastId;

    /// <summary>
    /// Fills <paramref name="page"/> (cleared first) with up to <paramref name="max"/> events, stopping once they hold
    /// <paramref name="maxBytes"/> (events may be 256 KiB each); false once nothing is left.
    /// </summary>
    public async Task<bool> ReadPageAsync(List<NostrEvent> page, int max, long maxBytes, CancellationToken cancellationToken)
    {
        page.Clear();
        if (_cursors is null) await StartAsync(cancellationToken);
        long bytes = 0;
        while (page.Count < max && bytes < maxBytes)
        {
            var next = Newest();
            if (next < 0) return false;
            var evt = _heads[next]!;
            _heads[next] = await _cursors![next]!.MoveNextAsync() ? _cursors[next]!.Current : null;
            if (string.Equals(evt.Id, _lastId, StringComparison.Ordinal)) continue;   // matched by two filters: once
            _lastId = evt.Id;
            page.Add(evt);
            bytes += evt.Json.Length;
        }
        return Newest() >= 0;
    }

    private async Task StartAsync(CancellationToken cancellationToken)
    {
        _cursors = new IAsyncEnumerator<NostrEvent>?[filters.Length];
        _heads = new NostrEvent?[filters.Length];
        for (var i = 0; i < filters.Length; i++)
        {
            var filter = filters[i];
            if (filter.CannotMatch || filter.Limit == 0) continue;
            var cursor = store.QueryAsync(filter, cancellationToken).GetAsyncEnumerator(cancellationToken);
            _cursors[i] = cursor;
            _heads[i] = await cursor.MoveNextAsync() ? cursor.Current : null;
        }
    }

    private int Newest()
    {
        var next = -1;
        for (var i = 0; i < _heads.Length; i++)
            if (_heads[i] is { } candidate && (next < 0 || NostrEvent.CompareNewestFirst(candidate, _heads[next]!) < 0)) next = i;
        return next;
    }

    public async ValueTask DisposeAsync()
    {
        if (_cursors is null) return;
        foreach (var cursor in _cursors)
            if (cursor is not null) await cursor.DisposeAsync();
        _cursors = null;
    }
}
