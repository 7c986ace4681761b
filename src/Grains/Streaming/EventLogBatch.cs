using NostrRelay.Protocol;
using Orleans.Providers.Streams.Common;
using Orleans.Runtime;
using Orleans.Streams;

namespace NostrRelay.Streaming;

/// <summary>One stored event on one of the streams that carry it, with its global position as its token.</summary>
[GenerateSerializer, Immutable, Alias("nostr.log-batch")]
internal sealed class EventLogBatch(StreamId streamId, NostrEvent evt, EventSequenceTokenV2 token) : IBatchContainer
{
    [Id(0)] public StreamId StreamId { get; } = streamId;

    [Id(1)] public NostrEvent Event { get; } = evt;

    [Id(2)] public EventSequenceTokenV2 Token { get; } = token;

    public StreamSequenceToken SequenceToken => Token;

    public long Position => Token.SequenceNumber;

    public IEnumerable<Tuple<T, StreamSequenceToken>> GetEvents<T>()
    {
        if (Event is T item) yield return Tuple.Create(item, (StreamSequenceToken)Token);
    }

    public bool ImportRequestContext() => false;

    public static EventLogBatch Of(StreamId stream, long position, NostrEvent evt) => new(stream, evt, new EventSequenceTokenV2(position));
}
