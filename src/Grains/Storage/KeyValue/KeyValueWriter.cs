using Microsoft.Extensions.Logging;
using NostrRelay.Storage.Writing;

namespace NostrRelay.Storage.KeyValue;

/// <summary>
/// The one writer of the database: a dedicated thread that takes whatever writes are queued (up to a batch), runs
/// them into one engine batch and completes their callers after the batch is committed durably, so a burst of
/// concurrent saves costs one sync. Nothing else writes, so a check never races with another writer.
/// </summary>
internal sealed class KeyValueWriter(KeyValueWriteCommands commands, string storeName, int maxBatch, int maxQueued, ILogger logger)
    : GroupCommitWriter(storeName, maxBatch, maxQueued)
{
    private readonly KeyValueWriteCommands _commands = commands;
    private readonly string _storeName = storeName;
    private readonly ILogger _logger = logger;

    /// <summary>
    /// Runs the batch and commits it once. Duplicates and conflicts are outcomes, not errors; a write that throws
    /// anyway is undone back to its save point and failed alone, and the others still commit. An engine out of room
    /// (LMDB's map) makes room and the whole batch runs again: every write decides afresh.
    /// </summary>
    protected override ValueTask RunBatchAsync(List<StoreWrite> batch)
    {
        var failed = new List<(StoreWrite Write, Exception Error)>();
        while (true)
        {
            failed.Clear();
            try
            {
                foreach (var write in batch)
                {
                    _commands.SetSavePoint();
                    try
                    {
                        write.Decide(_commands);
                        _commands.ReleaseSavePoint();
                    }
                    catch (Exception e) when (e is not KeyValueFullException)
                    {
                        _commands.RollbackToSavePoint();
                        failed.Add((write, e));
                    }
                }
                _commands.Commit();
                break;
            }
            catch (KeyValueFullException full)
            {
                _commands.Abandon();
                try
                {
                    _commands.MakeRoom();
                }
                catch (Exception e)
                {
                    StoreLog.BatchFailed(_logger, _storeName, batch.Count, new IOException($"{full.Message}, and making room failed", e));
                    foreach (var write in batch) write.Fail(e);
                    return ValueTask.CompletedTask;
                }
            }
            catch (Exception e)
            {
                // The write to the database failed: nothing of this batch is durable.
                _commands.Abandon();
                StoreLog.BatchFailed(_logger, _storeName, batch.Count, e);
                foreach (var write in batch) write.Fail(e);
                return ValueTask.CompletedTask;
            }
        }
        foreach (var write in batch)
        {
            var error = FailureOf(failed, write);
            if (error is null) write.Complete();
            else
            {
                StoreLog.WriteFailed(_logger, _storeName, error);
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
