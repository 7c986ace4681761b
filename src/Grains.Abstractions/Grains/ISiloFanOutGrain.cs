using Orleans.Runtime;

namespace NostrRelay.Grains;

/// <summary>
/// One silo's inbox for live events committed on other silos. Key: the silo's address; the grain lives
/// on that silo and nowhere else. An event crosses the network once per silo, then fans out there to
/// every local subscription shard, however many gateways those serve.
/// </summary>
public interface ISiloFanOutGrain : IGrainWithStringKey
{
    /// <summary>Events from one other silo, in the order that silo committed them.</summary>
    Task PublishAsync(EventBatch batch);

    /// <summary>
    /// What the subscriptions on silo <paramref name="from"/> can match, as changes in order; <paramref name="waited"/> is
    /// how long the oldest of them waited there to be sent. Answers the generation this silo now holds for it, or −1
    /// when a change did not follow on from what it held (it then sends that silo every event until a whole summary
    /// arrives). Events committed here while new keys travelled are sent to it then.
    /// </summary>
    Task<long> InterestAsync(SiloAddress from, InterestUpdate[] updates, TimeSpan waited);
}
