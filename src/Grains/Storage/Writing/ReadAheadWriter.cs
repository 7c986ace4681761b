using Microsoft.Extensions.Logging;

namespace NostrRelay.Storage.Writing;

/// <summary>
/// The writer of a store behind a network (PostgreSQL, MariaDB): a batch is one transaction run in rounds (see
/// <see cref="ReadAheadRound"/>), its callers completed after COMMIT. Duplicates and conflicts are outcomes, not
/// errors. A write whose decision throws (stored JSON that cannot be read) fails alone before anything is sent for
/// it. When a statement fails on the server, nothing is committed and each write runs again in a transaction of its
/// own, so only the one at fault fails. A lost connection or a failed COMMIT fails the whole batch.
/// </summary>
internal abstract class ReadAheadWriter : GroupCommitWriter
{
    private readonly string _storeName;
    private readonly ILogger _logger;
    private readonly Dictionary<StoreWrite, Exception> _refused = [];

    // Set after the base starts its loop, which is safe: nothing is queued before the constructor returns.
    protected ReadAheadWriter(string storeName, int maxBatch, int maxQueued, ILogger logger) : base(storeName, maxBatch, maxQueued)
    {
        _storeName = storeName;
        _logger = logger;
    }

    /// <summary>Runs the batch in one transaction (through <see cref="RunRoundsAsync"/>) and commits it.</summary>
    protected abstract Task CommitAsync(List<StoreWrite> writes);

    /// <summary>True when the server refused a statement and the connection is still good for a transaction per write.</summary>
    protected abstract bool IsStatementFailure(Exception error);

    /// <summary>After a batch failed for another reason: drop a broken connection, so the next batch opens a new one.</summary>
    protected abstract Task OnBatchLostAsync();

    protected sealed override async ValueTask RunBatchAsync(List<StoreWrite> batch)
    {
        _refused.Clear();
        try
        {
            await CommitAsync(batch).ConfigureAwait(false);
        }
        catch (Exception e) when (batch.Count > 1 && IsStatementFailure(e))
        {
            StoreLog.BatchFailed(_logger, _storeName, batch.Count, e);
            var single = new List<StoreWrite>(1);
            foreach (var write in batch)
            {
                single.Add(write);
                await RunBatchAsync(single).ConfigureAwait(false);
                single.Clear();
            }
            return;
        }
        catch (Exception e)
        {
            if (batch.Count == 1) StoreLog.WriteFailed(_logger, _storeName, e);
            else StoreLog.BatchFailed(_logger, _storeName, batch.Count, e);
            foreach (var write in batch) write.Fail(e);
            await OnBatchLostAsync().ConfigureAwait(false);
            return;
        }
        foreach (var write in batch)
        {
            if (_refused.Remove(write, out var error))
            {
                StoreLog.WriteFailed(_logger, _storeName, error);
                write.Fail(error);
            }
            else write.Complete();
        }
    }

    /// <summary>
    /// Runs the writes in rounds inside the caller's transaction: each round takes the writes up to the first that
    /// claims a key already claimed, <paramref name="read"/>s, lets each write decide (a write that throws is refused
    /// alone) and <paramref name="apply"/>s.
    /// </summary>
    protected async Task RunRoundsAsync(List<StoreWrite> writes, ReadAheadRound round, Func<Task> read, Func<Task> apply)
    {
        for (var start = 0; start < writes.Count;)
        {
            round.Clear();
            var end = start;
            while (end < writes.Count && round.TryJoin(writes[end])) end++;
            await read().ConfigureAwait(false);
            for (var i = start; i < end; i++)
            {
                try
                {
                    writes[i].Decide(round);
                }
                catch (Exception e)
                {
                    _refused[writes[i]] = e;
                }
            }
            await apply().ConfigureAwait(false);
            start = end;
        }
    }
}
