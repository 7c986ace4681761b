using NostrRelay.Protocol;

namespace NostrRelay.Grains;

/// <summary>
/// A committed event on its way to live subscribers, with its place in its author's stream. Orleans does
/// not promise order for calls that are not awaited, and a re-activated author grain may send an event
/// again: the version lets a subscription shard keep each author's order and drop what it already had.
/// Version 0 marks an ephemeral event, which has no place in any stream.
/// </summary>
[GenerateSerializer, Immutable, Alias("relay.live-event")]
public readonly record struct LiveEvent(
    [property: Id(0)] NostrEvent Event,
    [property: Id(1)] long Version,
    [property: Id(2)] long Position)
{
    public string Author => Event.Pubkey;
}
