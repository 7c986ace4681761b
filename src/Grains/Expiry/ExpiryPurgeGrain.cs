using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using NostrRelay.Storage;

namespace NostrRelay.Expiry;

/// <summary>
/// Deletes expired events (NIP-40) in the background: a grain timer reads the store's expiration index
/// (<see cref="IEventStore.ReadExpiredAsync"/>) and deletes what is due, batch after batch for at most a second a tick,
/// so a backlog is worked off over ticks and never holds the turn long. Never a scan on a client's request: the
/// read path already skips what expired (HistoryReader, live matching), so the purge only frees the space.
/// </summary>
internal sealed partial class ExpiryPurgeGrain(IEventStore store, IOptions<ExpiryPurgeOptions> options, TimeProvider time,
    ILogger<ExpiryPurgeGrain> logger) : Grain, IExpiryPurgeGrain
{
    private static readonly TimeSpan MaxTickWork = TimeSpan.FromSeconds(1);

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        var interval = options.Value.Interval;
        this.RegisterGrainTimer(PurgeAsync, new GrainTimerCreationOptions(interval, interval) { KeepAlive = true });
        return Task.CompletedTask;
    }

    public Task StartAsync() => Task.CompletedTask;

    private async Task PurgeAsync(CancellationToken cancellationToken)
    {
        var started = time.GetTimestamp();
        var batch = Math.Max(1, options.Value.BatchSize);
        var purged = 0;
        try
        {
            while (!cancellationToken.IsCancellationRequested && time.GetElapsedTime(started) < MaxTickWork)
            {
                var now = time.GetUtcNow().ToUnixTimeSeconds();
                var read = 0;
                var deletes = new List<Task<bool>>(batch);
                await foreach (var id in store.ReadExpiredAsync(now, batch, cancellationToken))
                {
                    read++;
                    deletes.Add(store.DeleteAsync(id, cancellationToken));   // in flight together: one group commit
                }
                foreach (var deleted in await Task.WhenAll(deletes)) if (deleted) purged++;
                if (read < batch) break;
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogPurgeFailed(logger, ex);
        }
        if (purged > 0) LogPurged(logger, purged);
    }

    [LoggerMessage(EventId = 900, Level = LogLevel.Information, Message = "Deleted {Count} expired events (NIP-40)")]
    private static partial void LogPurged(ILogger logger, int count);

    [LoggerMessage(EventId = 901, Level = LogLevel.Warning, Message = "Purging expired events failed; the next tick tries again")]
    private static partial void LogPurgeFailed(ILogger logger, Exception exception);
}
