using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace NostrRelay.Storage.RocksDb;

/// <summary>
/// The one writer of the database: a dedicated thread that takes whatever writes are queued (up to a batch), runs
/// them into one write batch and completes their callers after the batch is written with a synced WAL, so a burst
/// of concurrent saves costs one fsync. Nothing else writes, so a check never races with another writer.
/// </summary>
internal sealed class RocksDbWriter : IAsyncDisposable
{
    private readonly Channel<PendingWrite> _queue;
    private readonly RocksDbWriteCommands _commands;
    private readonly int _maxBatch;
    private readonly ILogger _logger;
    private readonly Task _loop;

    public RocksDbWriter(RocksDbWriteCommands commands, RocksDbEventStoreOptions options, ILogger logger)
    {
        _commands = commands;
        _maxBatch = options.MaxWriteBatch;
        _logger = logger;
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
            throw new ObjectDisposedException(nameof(RocksDbEventStore));
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
    /// Runs the batch and commits it once. Duplicates and conflicts are outcomes, not errors; a write that throws
    /// anyway is undone back to its save point and failed alone, and the others still commit.
    /// </summary>
    private void RunBatch(List<PendingWrite> batch)
    {
        var failed = new List<(PendingWrite Write, Exception Error)>();
        try
        {
            foreach (var write in batch)
            {
                _commands.SetSavePoint();
                try
                {
                    write.Execute(_commands);
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
            RocksDbLog.BatchFailed(_logger, batch.Count, e);
            foreach (var write in batch) write.Fail(e);
            return;
        }
        foreach (var write in batch)
        {
            var error = FailureOf(failed, write);
            if (error is null) write.Complete();
            else
            {
                RocksDbLog.WriteFailed(_logger, error);
                write.Fail(error);
            }
        }
    }

    private static Exception? FailureOf(List<(PendingWrite Write, Exception Error)> failed, PendingWrite write)
    {
        foreach (var (candidate, error) in failed)
            if (ReferenceEquals(candidate, write)) return error;
        return null;
    }

    /// <summary>Stops taking writes and commits what is queued.</summary>
    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _loop.ConfigureAwait(false);
        _commands.Dispose();
    }
}
