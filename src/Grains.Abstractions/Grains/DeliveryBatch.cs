namespace NostrRelay.Grains;

[GenerateSerializer, Immutable, Alias("relay.delivery-batch")]
public sealed record DeliveryBatch([property: Id(0)] Delivery[] Items);
