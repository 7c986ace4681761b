using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using NostrRelay.Storage.Writing;

namespace NostrRelay.Storage.Sqlite;

/// <summary>
/// The one writer of the database: a dedicated thread owning the write connection. It takes whatever writes
/// are queued (up to a batch), runs them in one transaction and completes their callers after COMMIT, so a
/// burst of concurrent saves costs one fsync. Nothing else writes, so checks never race with another writer.
/// </summary>
internal sealed class SqliteWriter(SqliteConnection connection, SqliteEventStoreOptions options, ILogger logger)
    : GroupCommitWriter("SQLite", options.MaxWriteBatch, options.MaxQueuedWrites)
{
    private readonly SqliteWriteCommands _commands = new(connection, searchReadOnly: options.ReadOnly);
    private readonly ILogger _logger = logger;

    /// <summary>The FTS5 index's words, each occurrence (bm25 counts them), made on the caller's thread.</summary>
    protected override string? SearchWordsFor(NostrRelay.Protocol.NostrEvent evt) => NostrRelay.Protocol.SearchQuery.IndexText(evt.Content);

    /// <summary>
    /// Runs the batch in one transaction. Duplicates and conflicts are outcomes, not errors; a write that throws
    /// anyway is failed alone: the transaction is rolled back and the others run again without it.
    /// </summary>
    protected override ValueTask RunBatchAsync(List<StoreWrite> batch)
    {
        while (batch.Count > 0)
        {
            var failed = -1;
            Exception? failure = null;
            try
            {
                _commands.Begin();
                for (var i = 0; i < batch.Count; i++)
                {
                    try
                    {
                        batch[i].Decide(_commands);
                    }
                    catch (Exception e)
                    {
                        failed = i;
                        failure = e;
                        break;
                    }
                }
                if (failed < 0)
                {
                    _commands.Commit();
                    var searches = false;
                    foreach (var write in batch)
                    {
                        if (write is SqliteSearchFlush) searches = true;
                        else write.Complete();
                    }
                    if (searches || _commands.Search.Due) IndexSearch(batch);
                    return ValueTask.CompletedTask;
                }
                _commands.Rollback();
            }
            catch (Exception e)
            {
                // BEGIN or COMMIT failed: nothing of this batch is durable.
                _commands.Rollback();
                StoreLog.BatchFailed(_logger, "SQLite", batch.Count, e);
                foreach (var write in batch) write.Fail(e);
                return ValueTask.CompletedTask;
            }
            StoreLog.WriteFailed(_logger, "SQLite", failure!);
            batch[failed].Fail(failure!);
            batch.RemoveAt(failed);
        }
        return ValueTask.CompletedTask;
    }

    /// <summary>
    /// Resolves once every event committed before the call is in NIP-50's index: at once when none waits, else after
    /// the writer has indexed them (<see cref="SqliteSearchIndex"/>).
    /// </summary>
    public Task SearchableAsync(CancellationToken cancellationToken) =>
        _commands.Search.HasPending ? WriteAsync(new SqliteSearchFlush(cancellationToken)) : Task.CompletedTask;

    /// <summary>Indexes the waiting events after the batch's writes were answered, then answers the searches that asked.</summary>
    private void IndexSearch(List<StoreWrite> batch)
    {
        Exception? failure = null;
        try
        {
            _commands.Search.Flush();
        }
        catch (Exception e)
        {
            failure = e;
            SqliteLog.SearchIndexFailed(_logger, e);
        }
        foreach (var write in batch)
        {
            if (write is not SqliteSearchFlush) continue;
            if (failure is null) write.Complete();
            else write.Fail(failure);
        }
    }

    protected override async ValueTask OnClosedAsync()
    {
        // The writer thread has ended: index what waits, so the next open has nothing to catch up on.
        try { _commands.Search.Flush(); }
        catch (Exception e) { SqliteLog.SearchIndexFailed(_logger, e); }
        _commands.Dispose();
        await connection.DisposeAsync().ConfigureAwait(false);
    }
}
