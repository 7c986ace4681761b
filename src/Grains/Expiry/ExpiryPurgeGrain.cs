using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using NostrRelay.Protocol;
using NostrRelay.Storage;

namespace NostrRelay.Expiry;

/// <summary>
/// Deletes expired events (NIP-40) in the background: a grain timer reads the store's expiration index
/// (<see cref="IEventStore.ReadExpiredAsync"/>) and deletes what is due, batch after batch for at most a second a tick,
/// so a backlog is worked off over ticks and never holds the turn long. Then the retention rules: events of a rule's
/// kinds older than its time, read newest first through the store's kind and created_at indexes. Never a scan on a client's request: the
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
                var (read, deleted) = await DeleteAsync(store.ReadExpiredAsync(now, batch, cancellationToken), cancellationToken);
                purged += deleted;
                if (read < batch) break;
            }
            foreach (var rule in options.Value.Retention)
            {
                while (!cancellationToken.IsCancellationRequested && time.GetElapsedTime(started) < MaxTickWork)
                {
                    var filter = new Filter { Kinds = rule.Kinds, Until = time.GetUtcNow().ToUnixTimeSeconds() - rule.Time - 1, Limit = batch };
                    var (read, deleted) = await DeleteAsync(Ids(store.QueryAsync(filter, cancellationToken)), cancellationToken);
                    purged += deleted;
                    if (read < batch) break;
                }
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogPurgeFailed(logger, ex);
        }
        if (purged > 0) LogPurged(logger, purged);
    }

    /// <summary>Deletes what was read, the deletes in flight together (one group commit).</summary>
    private async Task<(int Read, int Deleted)> DeleteAsync(IAsyncEnumerable<string> ids, CancellationToken cancellationToken)
    {
        var deletes = new List<Task<bool>>();
        await foreach (var id in ids) deletes.Add(DeleteOneAsync(id, cancellationToken));
        var deleted = 0;
        foreach (var done in await Task.WhenAll(deletes)) if (done) deleted++;
        return (deletes.Count, deleted);
    }

    /// <summary>One event that cannot be deleted is logged and passed over; the rest of the batch still goes.</summary>
    private async Task<bool> DeleteOneAsync(string id, CancellationToken cancellationToken)
    {
        try
        {
            return await store.DeleteAsync(id, cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogDeleteFailed(logger, ex, id);
            return false;
        }
    }

    private static async IAsyncEnumerable<string> Ids(IAsyncEnumerable<NostrEvent> events)
    {
        await foreach (var evt in events) yield return evt.Id;
    }

    [LoggerMessage(EventId = 900, Level = LogLevel.Information, Message = "Deleted {Count} expired events (NIP-40)")]
    private static partial void LogPurged(ILogger logger, int count);

    [LoggerMessage(EventId = 902, Level = LogLevel.Warning, Message = "Expired event {EventId} could not be deleted; it stays hidden and is tried again")]
    private static partial void LogDeleteFailed(ILogger logger, Exception exception, string eventId);

    [LoggerMessage(EventId = 901, Level = LogLevel.Warning, Message = "Purging expired events failed; the next tick tries again")]
    private static partial void LogPurgeFailed(ILogger logger, Exception exception);
}
