using Orleans.Concurrency;
using NostrRelay.Counting;
using NostrRelay.Grains;
using NostrRelay.Storage;

namespace NostrRelay.Syncing;

/// <summary>
/// NEG-OPEN's read, on a silo near the caller (a stateless worker). It runs on the same low-priority threads as
/// COUNT (<see cref="CountReads"/>), off the grain's thread, and is cancelled once the caller would have given up.
/// </summary>
[StatelessWorker]
[Reentrant]
internal sealed class NegentropyGrain(IEventStore store, CountReads reads, NostrRelay.Metrics.SiloMetrics metrics) : Grain, INegentropyGrain
{
    /// <summary>Under the call's timeout (<see cref="INegentropyGrain.ReadAsync"/>).</summary>
    internal static readonly TimeSpan MaxDuration = TimeSpan.FromSeconds(35);

    private readonly NegentropyRecordReader _reader = new(store);

    public async Task<NegentropyRead> ReadAsync(NegentropyRequest request)
    {
        using var timeout = new CancellationTokenSource(MaxDuration);
        return await reads.RunAsync(() => metrics.TimeAsync("negentropy", () => _reader.ReadAsync(request, timeout.Token)), timeout.Token);
    }
}
