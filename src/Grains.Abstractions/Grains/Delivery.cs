using NostrRelay.Protocol;

namespace NostrRelay.Grains;

/// <summary>One frame for one subscription of one connection.</summary>
[GenerateSerializer, Immutable, Alias("relay.delivery")]
public sealed record Delivery(
    [property: Id(0)] long ConnectionId,
    [property: Id(1)] string SubscriptionId,
    [property: Id(2)] DeliveryKind Kind,
    [property: Id(3)] NostrEvent? Event,
    [property: Id(4)] string? Message)
{
    public static Delivery ForEvent(long connectionId, string subscriptionId, NostrEvent evt) => new(connectionId, subscriptionId, DeliveryKind.Event, evt, null);
    public static Delivery EndOfStoredEvents(long connectionId, string subscriptionId) => new(connectionId, subscriptionId, DeliveryKind.EndOfStoredEvents, null, null);
    public static Delivery Closed(long connectionId, string subscriptionId, string message) => new(connectionId, subscriptionId, DeliveryKind.Closed, null, message);
}
