namespace NostrRelay.Grains;

public enum DeliveryKind
{
    /// <summary>["EVENT", sub, event]</summary>
    Event,
    /// <summary>["EOSE", sub]</summary>
    EndOfStoredEvents,
    /// <summary>["CLOSED", sub, message]: the relay ended the subscription.</summary>
    Closed,
}
