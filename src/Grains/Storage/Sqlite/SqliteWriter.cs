using System.Threading.Channels;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace NostrRelay.Storage.Sqlite;

/// <summary>
/// The one writer of the database: a dedicated thread owning the write connection. It takes whatever writes
/// are queued (up to a batch), runs them in one transaction and completes their callers after COMMIT, so a
/// burst of concurrent saves costs one fsync. Nothing else writes, so checks never race with another writer.
/// </summary>
internal sealed class SqliteWriter : IAsyncDisposable
{
    private readonly Channel<PendingWrite> _queue;
    private readonly SqliteConnection _connection;
    private readonly SqliteWriteCommands _commands;
    private readonly int _maxBatch;
    private readonly ILogger _logger;
    private readonly Task _loop;

    public SqliteWriter(SqliteConnection connection, SqliteEventStoreOptions options, ILogger logger)
    {
        if (options.MaxWriteBatch < 1) throw new ArgumentOutOfRangeException(nameof(options), "MaxWriteBatch must be at least 1");
        if (options.MaxQueuedWrites < 1) throw new ArgumentOutOfRangeException(nameof(options), "MaxQueuedWrites must be at least 1");
        _connection = connection;
        _maxBatch = options.MaxWriteBatch;
        _logger = logger;
        _commands = new SqliteWriteCommands(connection);
        _queue = Channel.CreateBounded<PendingWrite>(new BoundedChannelOptions(options.MaxQueuedWrites)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
        _loop = Task.Factory.StartNew(Run, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }

    public async Task<TResult> WriteAsync<TResult>(PendingWrite write, Task<TResult> completion, CancellationToken cancellationToken)
    {
        try
        {
            if (!_queue.Writer.TryWrite(write)) await _queue.Writer.WriteAsync(write, cancellationToken).ConfigureAwait(false);
        }
        catch (ChannelClosedException)
        {
            throw new ObjectDisposedException(nameof(SqliteEventStore));
        }
        return await completion.ConfigureAwait(false);
    }

    private void Run()
    {
        var reader = _queue.Reader;
        var batch = new List<PendingWrite>(_maxBatch);
        while (WaitToRead(reader))
        {
            while (batch.Count < _maxBatch && reader.TryRead(out var write))
            {
                if (write.CancellationToken.IsCancellationRequested) write.Cancel();
                else batch.Add(write);
            }
            if (batch.Count > 0) RunBatch(batch);
            batch.Clear();
        }
    }

    // This thread is ours alone, so blocking it while the queue is empty costs the thread pool nothing.
    private static bool WaitToRead(ChannelReader<PendingWrite> reader)
    {
        var ready = reader.WaitToReadAsync();
        return ready.IsCompletedSuccessfully ? ready.Result : ready.AsTask().GetAwaiter().GetResult();
    }

    /// <summary>
    /// Runs the batch in one transaction. Duplicates and conflicts are outcomes, not errors; a write that throws
    /// anyway is failed alone: the transaction is rolled back and the others run again without it.
    /// </summary>
    private void RunBatch(List<PendingWrite> batch)
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
                        batch[i].Execute(_commands);
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
                    foreach (var write in batch) write.Complete();
                    return;
                }
                _commands.Rollback();
            }
            catch (Exception e)
            {
                // BEGIN or COMMIT failed: nothing of this batch is durable.
                _commands.Rollback();
                SqliteLog.BatchFailed(_logger, batch.Count, e);
                foreach (var write in batch) write.Fail(e);
                return;
            }
            SqliteLog.WriteFailed(_logger, failure!);
            batch[failed].Fail(failure!);
            batch.RemoveAt(failed);
        }
    }

    /// <summary>Stops taking writes, commits what is queued, then closes the connection.</summary>
    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _loop.ConfigureAwait(false);
        _commands.Dispose();
        await _connection.DisposeAsync().ConfigureAwait(false);
    }
}
