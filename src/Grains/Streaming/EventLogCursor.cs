using Orleans.Runtime;
using Orleans.Streams;

namespace NostrRelay.Streaming;

/// <summary>
/// One subscriber's place in the log: the next position to look at. It answers "no data" only once it has reached the
/// newest event the receiver read, because Orleans leaves an idle subscriber until a new event for its stream arrives.
/// </summary>
internal sealed class EventLogCursor(EventLogCache cache, StreamId stream, long next) : IQueueCacheCursor
{
    private readonly Queue<EventLogBatch> _ahead = new();
    private long _next = next;
    private EventLogBatch? _current;

    public QueueCacheCursorMoveResult MoveNextWithResult()
    {
        while (_ahead.Count == 0 && _next <= cache.Tail) cache.Fill(stream, ref _next, _ahead);
        return _ahead.TryDequeue(out _current) ? QueueCacheCursorMoveResult.Success : QueueCacheCursorMoveResult.NoData;
    }

    [Obsolete("Orleans calls MoveNextWithResult")]
    public bool MoveNext() => MoveNextWithResult().Kind == QueueCacheCursorMoveResultKind.Success;

    public IBatchContainer? GetCurrent(out Exception? exception)
    {
        exception = null;
        return _current;
    }

    /// <summary>The cursor keeps its own place; new events reach it through the cache's tail.</summary>
    public void Refresh(StreamSequenceToken token)
    {
    }

    public void RecordDeliveryFailure()
    {
    }

    public void Dispose()
    {
    }
}
