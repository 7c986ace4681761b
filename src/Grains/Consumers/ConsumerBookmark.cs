namespace NostrRelay.Consumers;

/// <summary>A consumer's persisted state: the position of the last event its handler finished.</summary>
/// <remarks>Known to Orleans' serializer: the ADO.NET grain storage admits only the types it knows.</remarks>
[GenerateSerializer, Alias("relay.consumer-bookmark")]
public sealed class ConsumerBookmark
{
    [Id(0)] public long Position { get; set; }
}
