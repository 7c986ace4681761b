using NostrRelay.Protocol;
using NostrRelay.Storage;
using Orleans.Runtime;
using Orleans.Streams;

namespace NostrRelay.Streaming;

/// <summary>
/// The pulling agent's cache of one queue, which never misses: it keeps the newest events the receiver read (a window
/// of <see cref="WindowSize"/> positions) for subscribers at the head of the log, and a cursor asked for anything older
/// reads it from the store. Orleans falls back to "newest" on a cache miss, which would skip events, so every token
/// gets a cursor that starts exactly there. Used on the agent's turn only: no locks.
/// </summary>
internal sealed class EventLogCache(IEventStore store, bool authorStreams) : IQueueCache
{
    public const int WindowSize = 4_096;

    /// <summary>Events a cursor reads from the store at once while it catches up (on the agent's turn).</summary>
    private const int StorePage = 512;

    private readonly long[] _positions = new long[WindowSize];
    private readonly NostrEvent[] _events = new NostrEvent[WindowSize];
    private int _start, _count;

    /// <summary>The newest position the receiver has read: cursors deliver up to it, and wait at it.</summary>
    public long Tail { get; private set; }

    public int GetMaxAddCount() => QueueAdapterConstants.UNLIMITED_GET_QUEUE_MSG;

    public void AddToCache(IList<IBatchContainer> messages)
    {
        foreach (var message in messages)
        {
            if (message is not EventLogBatch batch || batch.Position <= Tail) continue;   // an event comes once per stream that carries it
            if (_count == WindowSize)
            {
                _start = (_start + 1) % WindowSize;
                _count--;
            }
            var at = (_start + _count) % WindowSize;
            _positions[at] = batch.Position;
            _events[at] = batch.Event;
            _count++;
            Tail = batch.Position;
        }
    }

    public bool TryPurgeFromCache(out IList<IBatchContainer> purgedItems)
    {
        purgedItems = null!;
        return false;
    }

    public bool IsUnderPressure() => false;

    [Obsolete("Orleans calls TryGetCacheCursor")]
    public IQueueCacheCursor GetCacheCursor(StreamId streamId, StreamSequenceToken? token) => Open(streamId, token);

    public QueueCacheCursorResult<IQueueCacheCursor> TryGetCacheCursor(StreamId streamId, StreamSequenceToken? token) =>
        QueueCacheCursorResult<IQueueCacheCursor>.FromCursor(Open(streamId, token));

    public QueueCacheCursorResult<IQueueCacheCursor> TryGetCacheCursorAtPosition(StreamId streamId, StreamSubscriptionStartPosition position) =>
        QueueCacheCursorResult<IQueueCacheCursor>.FromCursor(Open(streamId, position == StreamSubscriptionStartPosition.EarliestAvailable ? EventLogStreams.From(1) : null));

    /// <summary>A cursor at the token's position (inclusive), or after the newest event read when there is none.</summary>
    private EventLogCursor Open(StreamId streamId, StreamSequenceToken? token) => new(this, streamId, token is null ? Tail + 1 : Math.Max(1, token.SequenceNumber));

    /// <summary>
    /// Adds to <paramref name="into"/> the next events of <paramref name="stream"/> from position <paramref name="next"/>
    /// on, up to <see cref="Tail"/>, and moves <paramref name="next"/> past what it looked at: from the window when it
    /// holds that position, else from the store.
    /// </summary>
    public void Fill(StreamId stream, ref long next, Queue<EventLogBatch> into)
    {
        if (_count > 0 && next >= _positions[_start])
        {
            for (var i = FirstAtOrAfter(next); i < _count; i++)
            {
                var at = (_start + i) % WindowSize;
                if (EventLogStreams.Carries(stream, _events[at], authorStreams)) into.Enqueue(EventLogBatch.Of(stream, _positions[at], _events[at]));
            }
            next = Tail + 1;
            return;
        }
        // Older than the window: a page of the log. Orleans' cursors are synchronous, so the agent's turn waits for it;
        // the read itself runs on the thread pool, since a store's awaits must not queue behind the turn that waits.
        var windowStart = _count > 0 ? _positions[_start] : Tail + 1;
        var read = 0;
        foreach (var stored in ReadPage(next - 1))
        {
            read++;
            if (stored.Position >= windowStart || stored.Position > Tail) break;
            if (EventLogStreams.Carries(stream, stored.Event, authorStreams)) into.Enqueue(EventLogBatch.Of(stream, stored.Position, stored.Event));
            next = stored.Position + 1;
        }
        // The page ran into the window, or the store had nothing more below it: go on from the window.
        if (read < StorePage || next >= windowStart) next = Math.Max(next, windowStart);
    }

    /// <summary>A page of the log after <paramref name="after"/>, tried three times before the error reaches Orleans.</summary>
    private List<StoredEvent> ReadPage(long after)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return Task.Run(async () => await store.ReadAllAsync(after, StorePage).ToListAsync().ConfigureAwait(false)).GetAwaiter().GetResult();
            }
            catch (Exception) when (attempt < 3)
            {
                Thread.Sleep(100 * attempt);
            }
        }
    }

    private int FirstAtOrAfter(long position)
    {
        int low = 0, high = _count;
        while (low < high)
        {
            var middle = (low + high) / 2;
            if (_positions[(_start + middle) % WindowSize] < position) low = middle + 1;
            else high = middle;
        }
        return low;
    }
}
