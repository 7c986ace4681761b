using Orleans.Concurrency;
using NostrRelay.Grains;
using NostrRelay.Storage;
using NostrRelay.Subscriptions;

namespace NostrRelay.Counting;

/// <summary>
/// COUNT on the caller's silo. The count itself runs on the catch-up read threads, like a REQ's stored events: a
/// store may count synchronously (SQLite does), and a count over millions of rows must not hold a grain thread.
/// </summary>
[StatelessWorker]
[Reentrant]
internal sealed class CountGrain(IEventStore store, CatchUpReads reads) : Grain, ICountGrain
{
    /// <summary>A count still running after this is abandoned: the caller's own call would have timed out by then.</summary>
    internal static readonly TimeSpan MaxDuration = TimeSpan.FromSeconds(25);

    private readonly EventCounter _counter = new(store);

    public async Task<CountResult> CountAsync(CountRequest request)
    {
        using var timeout = new CancellationTokenSource(MaxDuration);
        return await reads.RunAsync(() => _counter.CountAsync(request, timeout.Token), timeout.Token);
    }
}
