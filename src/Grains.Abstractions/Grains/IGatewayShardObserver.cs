namespace NostrRelay.Grains;

/// <summary>
/// A gateway shard's callback: subscription grains push EVENT, EOSE and CLOSED for the shard's connections.
/// Calls to one observer run one at a time, which keeps each shard's deliveries in order.
/// </summary>
public interface IGatewayShardObserver : IGrainObserver
{
    /// <summary>
    /// Delivers the frames. False means the gateway has moved on to another activation of this shard's
    /// grain (after a failover): the sender is a leftover and should let its subscriptions go.
    /// </summary>
    Task<bool> DeliverAsync(DeliveryBatch batch);
}
