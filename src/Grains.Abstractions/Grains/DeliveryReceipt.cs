namespace NostrRelay.Grains;

/// <summary>A gateway shard's answer to a delivery batch.</summary>
/// <param name="Accepted">
/// False means the gateway has moved on to another activation of this shard's grain (after a failover): the sender
/// is a leftover and should let its subscriptions go.
/// </param>
/// <param name="Backlogged">
/// Connections whose socket is far behind what was queued for them: the shard pauses their stored-event reads until
/// <see cref="ISubscriptionGrain.DrainedAsync"/> says they caught up. Live events still flow (the gateway's byte bound
/// closes a subscription that overflows).
/// </param>
/// <param name="Gone">
/// Connections the gateway no longer has (closed while the shard was not told, e.g. their disconnect call was lost):
/// the shard drops their subscriptions, which would otherwise match events for nobody for as long as it lives.
/// </param>
[GenerateSerializer, Immutable, Alias("relay.delivery-receipt")]
public sealed record DeliveryReceipt([property: Id(0)] bool Accepted, [property: Id(1)] Backlog[]? Backlogged, [property: Id(2)] long[]? Gone = null)
{
    public static DeliveryReceipt Taken { get; } = new(true, null);
    public static DeliveryReceipt Refused { get; } = new(false, null);
}

/// <summary>
/// A connection that fell behind, and which time it did (counted per connection): the drained word for an earlier time
/// may reach the shard after this receipt, and must not end this pause.
/// </summary>
[GenerateSerializer, Immutable, Alias("relay.backlog")]
public readonly record struct Backlog([property: Id(0)] long ConnectionId, [property: Id(1)] int Episode);
