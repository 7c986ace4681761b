using Orleans.Concurrency;
using NostrRelay.Grains;
using NostrRelay.Storage;

namespace NostrRelay.Counting;

/// <summary>
/// COUNT, on a silo near the caller (a stateless worker: the gateway's own silo when it runs in one). The count itself
/// runs on <see cref="CountReads"/>, off the grain's thread, and is abandoned unstarted or cancelled once the caller's
/// call would have timed out.
/// </summary>
[StatelessWorker]
[Reentrant]
internal sealed class CountGrain(IEventStore store, CountReads reads, NostrRelay.Metrics.SiloMetrics metrics) : Grain, ICountGrain
{
    /// <summary>Under Orleans' response timeout (10 s by default): past it the gateway has already answered CLOSED.</summary>
    internal static readonly TimeSpan MaxDuration = TimeSpan.FromSeconds(8);

    private readonly EventCounter _counter = new(store);

    public async Task<CountResult> CountAsync(CountRequest request)
    {
        using var timeout = new CancellationTokenSource(MaxDuration);
        // Timed once it runs: the wait for a read thread is not the store's.
        return await reads.RunAsync(() => metrics.TimeAsync("count", () => _counter.CountAsync(request, timeout.Token)), timeout.Token);
    }
}
