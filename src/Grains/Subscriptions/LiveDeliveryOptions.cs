namespace NostrRelay.Subscriptions;

/// <summary>The <c>Relay:LiveDelivery</c> section: how a subscription shard hands live events to its gateway.</summary>
public sealed class LiveDeliveryOptions
{
    /// <summary>
    /// How long a shard's live events may wait to leave together. A live event waits only when its shard (the
    /// subscriptions of a slice of a gateway's connections) handed anything on less than a window before, and then
    /// until the window since that has passed, never longer; it goes with whatever else came meanwhile, so a busy
    /// subscriber's events of that time leave in one send, one TCP segment, instead of one each. An event on a quiet
    /// shard goes at once.
    /// Default 20 ms: at 200 events a second to 200 subscribers the relay's CPU per delivery is then about strfry's
    /// (0.99×; 1.4× with each sent at once), with a median delivery of 14 ms against strfry's 73 (docs/benchmarks.md).
    /// Zero sends every event at once. Stored events, EOSE and CLOSED never wait, and take what waits along. Ephemeral
    /// events waiting when the silo stops are not delivered (stored ones come back to a resumed REQ). At most
    /// <see cref="LongestGatherWindow"/>.
    /// </summary>
    public TimeSpan GatherWindow { get; set; } = TimeSpan.FromMilliseconds(20);

    /// <summary>The longest window the relay starts with: a few seconds of live events is already more than any client waits for.</summary>
    public static readonly TimeSpan LongestGatherWindow = TimeSpan.FromSeconds(10);
}
