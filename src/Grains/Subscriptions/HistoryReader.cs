using NostrRelay.Protocol;
using NostrRelay.Storage;

namespace NostrRelay.Subscriptions;

/// <summary>
/// The stored events of one REQ, page by page: each filter is queried with its own limit (NIP-01) and the answers
/// are merged newest first, each id once. Only the store's current page per filter is held, never the whole
/// answer, so a REQ for thousands of events costs memory near one page while it waits for its client to read.
/// Events expired by <paramref name="now"/> (NIP-40, unix seconds) are skipped and do not count toward a limit:
/// a filter whose store answer ran out on expired events is read on from where it stopped.
/// NIP-50 filters come in the store's ranking, best first, before the others' newest-first merge; an event two
/// filters match is sent once.
/// </summary>
internal sealed class HistoryReader(IEventStore store, Filter[] filters, long now) : IAsyncDisposable
{
    private FilterCursor?[] _cursors = [];
    private bool _started;
    private string? _lastId;
    private readonly HashSet<string>? _sent = Filter.AnySearch(filters) ? new(StringComparer.Ordinal) : null;

    /// <summary>
    /// Fills <paramref name="page"/> (cleared first) with up to <paramref name="max"/> events, stopping once they hold
    /// <paramref name="maxBytes"/> (events may be 256 KiB each); false once nothing is left.
    /// </summary>
    public async Task<bool> ReadPageAsync(List<NostrEvent> page, int max, long maxBytes, CancellationToken cancellationToken)
    {
        page.Clear();
        if (!_started) await StartAsync(cancellationToken);
        long bytes = 0;
        while (page.Count < max && bytes < maxBytes)
        {
            var next = Next();
            if (next < 0) return false;
            var evt = await _cursors[next]!.TakeAsync(cancellationToken);
            if (_sent is not null ? !_sent.Add(evt.Id) : string.Equals(evt.Id, _lastId, StringComparison.Ordinal)) continue;   // matched by two filters: once
            _lastId = evt.Id;
            page.Add(evt);
            bytes += evt.Json.Length;
        }
        return Next() >= 0;
    }

    private async Task StartAsync(CancellationToken cancellationToken)
    {
        _started = true;
        _cursors = new FilterCursor?[filters.Length];
        for (var i = 0; i < filters.Length; i++)
        {
            var filter = filters[i];
            if (filter.CannotMatch || filter.Limit == 0) continue;
            var cursor = new FilterCursor(store, filter, now);
            await cursor.StartAsync(cancellationToken);
            _cursors[i] = cursor;
        }
    }

    /// <summary>The cursor whose head goes next: a search filter's, in filter order, while one has any; then the newest head.</summary>
    private int Next()
    {
        var next = -1;
        for (var i = 0; i < _cursors.Length; i++)
        {
            if (_cursors[i] is not { Head: { } candidate } cursor) continue;
            if (cursor.Ranked) return i;
            if (next < 0 || NostrEvent.CompareNewestFirst(candidate, _cursors[next]!.Head!) < 0) next = i;
        }
        return next;
    }

    /// <summary>Stopwatch ticks spent waiting on the store's reads, over every filter (not on the client or the gateway).</summary>
    public long StoreTicks
    {
        get
        {
            long ticks = _disposedTicks;
            foreach (var cursor in _cursors) ticks += cursor?.StoreTicks ?? 0;
            return ticks;
        }
    }

    private long _disposedTicks;

    public async ValueTask DisposeAsync()
    {
        _disposedTicks = StoreTicks;
        foreach (var cursor in _cursors)
            if (cursor is not null) await cursor.DisposeAsync();
        _cursors = [];
    }

    /// <summary>
    /// Expired events one filter may pass over before its answer ends: the purge removes them within a minute, and until
    /// then a flood of same-second expired events must not turn one REQ into unbounded reading.
    /// </summary>
    private const int MaxSkippedPerFilter = 10_000;

    /// <summary>One filter's answer, its next unexpired event at <see cref="Head"/>.</summary>
    private sealed class FilterCursor(IEventStore store, Filter filter, long now) : IAsyncDisposable
    {
        /// <summary>Stopwatch ticks spent waiting on the store's reads, nothing else.</summary>
        public long StoreTicks { get; private set; }

        private int _skipped;    // expired or already-read events passed over
        private IAsyncEnumerator<NostrEvent>? _reader;
        private int _asked;      // the limit of the current store query
        private int _received;   // events the current store query gave
        private int _served;     // unexpired events taken, toward the filter's limit
        private int _atLastSecond;   // events read with the created_at of _last: a continuation reads them again
        private NostrEvent? _last;

        public NostrEvent? Head { get; private set; }

        /// <summary>A NIP-50 answer: in the store's ranking, read once, not in NIP-01 order and never continued.</summary>
        public bool Ranked { get; } = filter.HasSearch;

        public Task StartAsync(CancellationToken cancellationToken)
        {
            Open(filter, cancellationToken);
            return AdvanceAsync(cancellationToken);
        }

        public async Task<NostrEvent> TakeAsync(CancellationToken cancellationToken)
        {
            var taken = Head!;
            _served++;
            await AdvanceAsync(cancellationToken);
            return taken;
        }

        private void Open(Filter query, CancellationToken cancellationToken)
        {
            _asked = query.Limit ?? int.MaxValue;
            _received = 0;
            _reader = store.QueryAsync(query, cancellationToken).GetAsyncEnumerator(cancellationToken);
        }

        /// <summary>Moves <see cref="Head"/> to the next unexpired event, or null at the end of the filter's answer.</summary>
        private async Task AdvanceAsync(CancellationToken cancellationToken)
        {
            Head = null;
            if (filter.Limit is { } limit && _served >= limit) return;
            while (true)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var asked = System.Diagnostics.Stopwatch.GetTimestamp();
                var more = await _reader!.MoveNextAsync();
                StoreTicks += System.Diagnostics.Stopwatch.GetTimestamp() - asked;
                if (!more)
                {
                    if (Ranked) return;
                    // The store gave all it was asked for while expired events took places: ask for the rest,
                    // from the last event read on (NIP-01 order: same second, higher ids next, then older).
                    if (_received < _asked || filter.Limit is not { } wanted || _last is null) return;
                    await _reader.DisposeAsync();
                    // Asking for the ones at that second again as well, and at least twice as many as last time, so
                    // continuations make progress and their number grows only with the log of what is skipped.
                    var ask = Math.Max(_asked * 2L, (long)wanted - _served + _atLastSecond + 16);
                    Open(filter with { Until = _last.CreatedAt, Limit = (int)Math.Min(ask, int.MaxValue) }, cancellationToken);
                    continue;
                }
                var evt = _reader.Current;
                _received++;
                if (Ranked)
                {
                    if (evt.IsExpiredAt(now)) continue;
                    Head = evt;
                    return;
                }
                if (_last is { } last && (evt.CreatedAt > last.CreatedAt
                    || (evt.CreatedAt == last.CreatedAt && string.CompareOrdinal(evt.Id, last.Id) <= 0)))
                {
                    if (++_skipped > MaxSkippedPerFilter) return;   // read before
                    continue;
                }
                _atLastSecond = _last is not null && _last.CreatedAt == evt.CreatedAt ? _atLastSecond + 1 : 1;
                _last = evt;
                if (evt.IsExpiredAt(now))
                {
                    if (++_skipped > MaxSkippedPerFilter) return;
                    continue;
                }
                Head = evt;
                return;
            }
        }

        public ValueTask DisposeAsync() => _reader?.DisposeAsync() ?? default;
    }
}
