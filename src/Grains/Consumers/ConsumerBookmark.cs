namespace NostrRelay.Consumers;

/// <summary>A consumer's persisted state: the position of the last event its handler finished.</summary>
public sealed class ConsumerBookmark
{
    public long Position { get; set; }
}
