using Microsoft.Extensions.Logging;
using NostrRelay.Storage.Writing;

namespace NostrRelay.Storage.RocksDb;

/// <summary>
/// The one writer of the database: a dedicated thread that takes whatever writes are queued (up to a batch), runs
/// them into one write batch and completes their callers after the batch is written with a synced WAL, so a burst
/// of concurrent saves costs one fsync. Nothing else writes, so a check never races with another writer.
/// </summary>
internal sealed class RocksDbWriter(RocksDbWriteCommands commands, RocksDbEventStoreOptions options, ILogger logger)
    : GroupCommitWriter("RocksDB", options.MaxWriteBatch, options.MaxQueuedWrites)
{
    private readonly RocksDbWriteCommands _commands = commands;
    private readonly ILogger _logger = logger;

    /// <summary>
    /// Runs the batch and commits it once. Duplicates and conflicts are outcomes, not errors; a write that throws
    /// anyway is undone back to its save point and failed alone, and the others still commit.
    /// </summary>
    protected override ValueTask RunBatchAsync(List<StoreWrite> batch)
    {
        var failed = new List<(StoreWrite Write, Exception Error)>();
        try
        {
            foreach (var write in batch)
            {
                _commands.SetSavePoint();
                try
                {
                    write.Decide(_commands);
                }
                catch (Exception e)
                {
                    _commands.RollbackToSavePoint();
                    failed.Add((write, e));
                }
            }
            _commands.Commit();
        }
        catch (Exception e)
        {
            // The write to the database failed: nothing of this batch is durable.
            _commands.Abandon();
            StoreLog.BatchFailed(_logger, "RocksDB", batch.Count, e);
            foreach (var write in batch) write.Fail(e);
            return ValueTask.CompletedTask;
        }
        foreach (var write in batch)
        {
            var error = FailureOf(failed, write);
            if (error is null) write.Complete();
            else
            {
                StoreLog.WriteFailed(_logger, "RocksDB", error);
                write.Fail(error);
            }
        }
        return ValueTask.CompletedTask;
    }

    private static Exception? FailureOf(List<(StoreWrite Write, Exception Error)> failed, StoreWrite write)
    {
        foreach (var (candidate, error) in failed)
            if (ReferenceEquals(candidate, write)) return error;
        return null;
    }

    protected override ValueTask OnClosedAsync()
    {
        _commands.Dispose();
        return ValueTask.CompletedTask;
    }
}
