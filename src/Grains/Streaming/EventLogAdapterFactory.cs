using NostrRelay.Storage;
using Orleans.Configuration;
using Orleans.Providers.Streams.Common;
using Orleans.Runtime;
using Orleans.Streams;

namespace NostrRelay.Streaming;

/// <summary>
/// The stream provider's adapter: the event store is the queue, read by one receiver (one queue, so the log keeps its
/// order), and written by the relay alone: producing on these streams is refused. Rewindable, so a subscriber can
/// start from any position. A client builds it too (Orleans asks it whether the streams rewind) but never reads.
/// </summary>
internal sealed class EventLogAdapterFactory(string name, IEventStore? store, EventLogStreamOptions options)
    : IQueueAdapterFactory, IQueueAdapter, IQueueAdapterCache
{
    private readonly HashRingBasedStreamQueueMapper _mapper = new(new HashRingStreamQueueMapperOptions { TotalQueueCount = 1 }, name);

    public string Name => name;

    public bool IsRewindable => true;

    public StreamProviderDirection Direction => StreamProviderDirection.ReadOnly;

    [Obsolete("Orleans calls the overload with a cancellation token")]
    public Task<IQueueAdapter> CreateAdapter() => Task.FromResult<IQueueAdapter>(this);

    public IQueueAdapterCache GetQueueAdapterCache() => this;

    public IStreamQueueMapper GetStreamQueueMapper() => _mapper;

    /// <summary>A subscriber whose delivery keeps failing is faulted rather than silently passed over.</summary>
    public Task<IStreamFailureHandler> GetDeliveryFailureHandler(QueueId queueId) =>
        Task.FromResult<IStreamFailureHandler>(new NoOpStreamDeliveryFailureHandler(faultOnError: true));

    public Task QueueMessageBatchAsync<T>(StreamId streamId, IEnumerable<T> events, StreamSequenceToken? token, Dictionary<string, object>? requestContext) =>
        throw new NotSupportedException("the event log is written by the relay: publish events as EVENT messages, not on these streams");

    public IQueueCache CreateQueueCache(QueueId queueId) => new EventLogCache(Store, options.AuthorStreams);

    public IQueueAdapterReceiver CreateReceiver(QueueId queueId)
    {
        Interlocked.Increment(ref _openReceivers);
        return new EventLogReceiver(Store, options, () => Interlocked.Decrement(ref _openReceivers));
    }

    private int _openReceivers;

    /// <summary>Receivers this silo runs now: 1 on the silo whose pulling agent reads the log, 0 elsewhere.</summary>
    internal int OpenReceivers => Volatile.Read(ref _openReceivers);

    private IEventStore Store => store ?? throw new InvalidOperationException("the event log is read on silos only");
}
