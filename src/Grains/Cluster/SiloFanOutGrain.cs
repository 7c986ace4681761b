using Orleans.Concurrency;
using Orleans.Runtime;
using NostrRelay.Grains;
using NostrRelay.Subscriptions;

namespace NostrRelay.Cluster;

/// <summary>
/// This silo's inbox for events committed elsewhere: hands each batch to the local fan-out, which queues
/// it for every subscription shard here; and for what other silos' subscriptions want from this one. Never blocks, so it may take calls from all silos at once; each
/// sender awaits its calls one at a time, which keeps that sender's order.
/// </summary>
[SiloPinnedPlacement]
[Reentrant]
[CollectionAgeLimit(AlwaysActive = true)]
internal sealed class SiloFanOutGrain(LiveFanOut fanOut) : Grain, ISiloFanOutGrain
{
    public Task PublishAsync(EventBatch batch)
    {
        fanOut.PublishLocal(batch);
        return Task.CompletedTask;
    }

    public Task<long> InterestAsync(SiloAddress from, InterestUpdate[] updates, TimeSpan waited) => Task.FromResult(fanOut.InterestOf(from, updates, waited));
}
