using NostrRelay.Storage;
using Orleans.Streams;

namespace NostrRelay.Streaming;

/// <summary>
/// Reads the log for the pulling agent: each poll, the events after the last one read, each wrapped once per stream
/// that carries it, so Orleans wakes that stream's subscribers. It starts a little before the end of the log
/// (<see cref="EventLogStreamOptions.ReplayOnStart"/>), on a silo's start and after a failover alike.
/// </summary>
internal sealed class EventLogReceiver(IEventStore store, EventLogStreamOptions options, Action closed) : IQueueAdapterReceiver
{
    private const int MaxEventsPerPoll = 256;

    private Task? _started;
    private long _after;

    /// <summary>Starts once; a start that failed (the store was down) is tried again by the next poll.</summary>
    public Task Initialize(TimeSpan timeout)
    {
        if (_started is { IsFaulted: true } or { IsCanceled: true }) _started = null;
        return _started ??= StartAsync();
    }

    private async Task StartAsync() => _after = Math.Max(0, await LastPositionAsync(store).ConfigureAwait(false) - options.ReplayOnStart);

    [Obsolete("Orleans calls the overload with a cancellation token")]
    public Task<IList<IBatchContainer>> GetQueueMessagesAsync(int maxCount) => GetQueueMessagesAsync(maxCount, CancellationToken.None);

    public async Task<IList<IBatchContainer>> GetQueueMessagesAsync(int maxCount, CancellationToken cancellationToken)
    {
        await Initialize(TimeSpan.Zero).ConfigureAwait(false);
        var take = maxCount is > 0 and < MaxEventsPerPoll ? maxCount : MaxEventsPerPoll;
        // Read whole before anything moves: a read that fails half way is read again from the same place.
        var page = await store.ReadAllAsync(_after, take, cancellationToken).ToListAsync(cancellationToken).ConfigureAwait(false);
        var messages = new List<IBatchContainer>(page.Count * 3);
        foreach (var stored in page)
        {
            messages.Add(EventLogBatch.Of(EventLogStreams.All, stored.Position, stored.Event));
            messages.Add(EventLogBatch.Of(EventLogStreams.OfKind(stored.Event.Kind), stored.Position, stored.Event));
            if (options.AuthorStreams) messages.Add(EventLogBatch.Of(EventLogStreams.OfAuthor(stored.Event.Pubkey), stored.Position, stored.Event));
        }
        if (page.Count > 0) _after = page[^1].Position;
        return messages;
    }

    [Obsolete("Orleans calls the overload with a cancellation token")]
    public Task MessagesDeliveredAsync(IList<IBatchContainer> messages) => Task.CompletedTask;

    private int _shut;

    public Task Shutdown(TimeSpan timeout)
    {
        if (Interlocked.Exchange(ref _shut, 1) == 0) closed();
        return Task.CompletedTask;
    }

    /// <summary>
    /// The newest position in the log, found by reading single events: doubling until past the end, then halving. A
    /// few dozen point reads on any store, where the store has no "last position" of its own to ask.
    /// </summary>
    internal static async Task<long> LastPositionAsync(IEventStore store)
    {
        long high = 1;
        while (await AnyAfterAsync(store, high).ConfigureAwait(false)) high *= 2;
        long low = high / 2;   // some event lies after low (or low is 0); none after high
        if (!await AnyAfterAsync(store, low).ConfigureAwait(false)) return 0;
        while (high - low > 1)
        {
            var middle = low + (high - low) / 2;
            if (await AnyAfterAsync(store, middle).ConfigureAwait(false)) low = middle;
            else high = middle;
        }
        return high;
    }

    private static async Task<bool> AnyAfterAsync(IEventStore store, long position)
    {
        await foreach (var _ in store.ReadAllAsync(position, 1).ConfigureAwait(false)) return true;
        return false;
    }
}
