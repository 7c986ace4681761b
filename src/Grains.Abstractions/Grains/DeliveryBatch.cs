namespace NostrRelay.Grains;

/// <summary>
/// Frames for one gateway shard, stamped with the subscription grain activation that sent them: after a
/// failover two activations of one shard can briefly both be alive, and the gateway listens to one only.
/// </summary>
/// <param name="Number">
/// The batch's place among its activation's batches, from 1. A batch whose answer was lost (the silo that carried it
/// died) is sent again under the same number, and the gateway takes it once. 0 is a batch from a build before the
/// numbers, which the gateway always takes. Those builds skip the member, which comes after the ones they know.
/// </param>
/// <param name="Through">
/// A store position: every live event at or below it that reached the sending activation has been matched, and what it
/// matched is in this batch or an earlier one. A resume after the activation is lost reads the events stored past it
/// (<see cref="ResumePoint.AfterPosition"/>). 0 says nothing: a batch from an older build, or one sent before any
/// stored live event arrived.
/// </param>
[GenerateSerializer, Immutable, Alias("relay.delivery-batch")]
public sealed record DeliveryBatch([property: Id(0)] Delivery[] Items, [property: Id(1)] Guid Activation, [property: Id(2)] long Number = 0,
    [property: Id(3)] long Through = 0);
