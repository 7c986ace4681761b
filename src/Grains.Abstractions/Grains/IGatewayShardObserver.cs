namespace NostrRelay.Grains;

/// <summary>
/// A gateway shard's callback: subscription grains push EVENT, EOSE and CLOSED for the shard's connections.
/// Calls to one observer run one at a time, which keeps each shard's deliveries in order.
/// </summary>
public interface IGatewayShardObserver : IGrainObserver
{
    /// <summary>Delivers the frames; the receipt says whether they were taken and which connections are behind.</summary>
    Task<DeliveryReceipt> DeliverAsync(DeliveryBatch batch);
}
