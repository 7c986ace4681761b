namespace NostrRelay.Grains;

/// <summary>
/// Live events on their way to a silo or a subscription shard, in commit order per author; immutable so
/// co-hosted calls pass it without a copy. <see cref="Redriven"/> marks events an author grain sends again
/// from the store after a failover: those may already have reached some subscribers.
/// <see cref="Replayed"/> marks events a silo sends another that has just announced keys naming them: that silo never had
/// them from the sender, and a later event of the same author may already have reached it under other keys, so they are
/// not held to the author's last version.
/// </summary>
[GenerateSerializer, Immutable, Alias("relay.event-batch")]
public sealed record EventBatch([property: Id(0)] LiveEvent[] Events, [property: Id(1)] bool Redriven = false, [property: Id(2)] bool Replayed = false);
