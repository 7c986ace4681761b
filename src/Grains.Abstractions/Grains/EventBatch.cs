namespace NostrRelay.Grains;

/// <summary>
/// Live events on their way to a silo or a subscription shard, in commit order per author; immutable so
/// co-hosted calls pass it without a copy. <see cref="Redriven"/> marks events an author grain sends again
/// from the store after a failover: those may already have reached some subscribers.
/// </summary>
[GenerateSerializer, Immutable, Alias("relay.event-batch")]
public sealed record EventBatch([property: Id(0)] LiveEvent[] Events, [property: Id(1)] bool Redriven = false);
