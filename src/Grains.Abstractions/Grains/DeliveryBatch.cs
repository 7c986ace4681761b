namespace NostrRelay.Grains;

/// <summary>
/// Frames for one gateway shard, stamped with the subscription grain activation that sent them: after a
/// failover two activations of one shard can briefly both be alive, and the gateway listens to one only.
/// </summary>
[GenerateSerializer, Immutable, Alias("relay.delivery-batch")]
public sealed record DeliveryBatch([property: Id(0)] Delivery[] Items, [property: Id(1)] Guid Activation);
