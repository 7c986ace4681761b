namespace NostrRelay.Subscriptions;

/// <summary>The <c>Relay:LiveDelivery</c> section: how a subscription shard hands live events to its gateway.</summary>
public sealed class LiveDeliveryOptions
{
    /// <summary>
    /// How long a shard gathers live events before it hands them on, so that a subscriber's events of that time leave
    /// in one send, one TCP segment, instead of one each. Zero (the default) sends each event as soon as it is
    /// committed. A window trades latency for CPU: at 200 events a second to 200 subscribers, 20 ms took the relay's
    /// CPU per delivery from 1.38× strfry's to 0.98×, with a median delivery of 17 ms against strfry's 70 ms; under a
    /// flood, where deliveries gather anyway, it costs throughput (docs/benchmarks.md). Stored events, EOSE and CLOSED
    /// never wait for it. Ephemeral events gathered when the silo stops are not delivered (stored ones come back to a
    /// resumed REQ). At most <see cref="LongestGatherWindow"/>.
    /// </summary>
    public TimeSpan GatherWindow { get; set; } = TimeSpan.Zero;

    /// <summary>The longest window the relay starts with: a few seconds of live events is already more than any client waits for.</summary>
    public static readonly TimeSpan LongestGatherWindow = TimeSpan.FromSeconds(10);
}
