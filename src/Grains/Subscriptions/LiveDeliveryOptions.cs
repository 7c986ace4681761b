namespace NostrRelay.Subscriptions;

/// <summary>The <c>Relay:LiveDelivery</c> section: how a subscription shard hands live events to its gateway.</summary>
public sealed class LiveDeliveryOptions
{
    /// <summary>
    /// How close together a shard hands live events on. A live event that comes when the shard handed nothing on for
    /// a window goes at once; one that follows a hand-on closer than that waits until the window since it has passed,
    /// and goes with whatever else came meanwhile, so a busy subscriber's events of that time leave in one send, one
    /// TCP segment, instead of one each. A quiet relay's events are never held; a busy one's wait at most a window.
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
