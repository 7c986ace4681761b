using NostrRelay.Protocol;

namespace NostrRelay.Grains;

/// <summary>Live events on their way to subscription shards; immutable so co-hosted calls pass it without a copy.</summary>
[GenerateSerializer, Immutable, Alias("relay.event-batch")]
public sealed record EventBatch([property: Id(0)] NostrEvent[] Events);
