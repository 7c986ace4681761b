using NostrRelay.Grains;

namespace NostrRelay.Connections;

/// <summary>
/// What tells a delivery batch from the one before it: its activation, size, and first and last frames. A shard sends a
/// batch again, whole and next in order, when its call failed; when the gateway had taken it and only the answer was lost
/// (a silo between them killed), the batch that comes again has the same mark as the last one taken.
/// </summary>
internal readonly record struct DeliveryBatchMark(Guid Activation, int Count, DeliveryBatchMark.Frame First, DeliveryBatchMark.Frame Last)
{
    public static DeliveryBatchMark Of(DeliveryBatch batch) =>
        batch.Items.Length == 0 ? default : new(batch.Activation, batch.Items.Length, Frame.Of(batch.Items[0]), Frame.Of(batch.Items[^1]));

    public bool IsEmpty => Count == 0;

    /// <summary>One frame as the mark holds it: an event by its id, a CLOSED by its message.</summary>
    internal readonly record struct Frame(long ConnectionId, string SubscriptionId, DeliveryKind Kind, string? What)
    {
        public static Frame Of(Delivery delivery) => new(delivery.ConnectionId, delivery.SubscriptionId, delivery.Kind, delivery.Event?.Id ?? delivery.Message);
    }
}
