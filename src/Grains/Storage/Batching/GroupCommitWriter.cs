using System.Threading.Channels;

namespace NostrRelay.Storage.Batching;

/// <summary>
/// The one writer of an embedded store: a dedicated thread takes whatever writes are queued (up to a batch),
/// hands them to <see cref="RunBatch"/> to be made durable at once, so a burst of concurrent saves costs one
/// sync. Nothing else writes, so a check never races with another writer. The queue is bounded: callers
/// beyond it wait for room.
/// </summary>
internal abstract class GroupCommitWriter<TCommands> : IAsyncDisposable
{
    private readonly Channel<QueuedWrite<TCommands>> _queue;
    private readonly int _maxBatch;
    private readonly Task _loop;

    protected GroupCommitWriter(int maxBatch, int maxQueued)
    {
        if (maxBatch < 1) throw new ArgumentOutOfRangeException(nameof(maxBatch), "MaxWriteBatch must be at least 1");
        if (maxQueued < 1) throw new ArgumentOutOfRangeException(nameof(maxQueued), "MaxQueuedWrites must be at least 1");
        _maxBatch = maxBatch;
        _queue = Channel.CreateBounded<QueuedWrite<TCommands>>(new BoundedChannelOptions(maxQueued)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
        _loop = Task.Factory.StartNew(Run, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }

    public async Task<TResult> WriteAsync<TResult>(QueuedWrite<TCommands> write, Task<TResult> completion, CancellationToken cancellationToken)
    {
        try
        {
            if (!_queue.Writer.TryWrite(write)) await _queue.Writer.WriteAsync(write, cancellationToken).ConfigureAwait(false);
        }
        catch (ChannelClosedException)
        {
            throw new ObjectDisposedException(GetType().Name);
        }
        return await completion.ConfigureAwait(false);
    }

    /// <summary>Makes the batch durable and completes (or fails) every write in it.</summary>
    protected abstract void RunBatch(List<QueuedWrite<TCommands>> batch);

    private void Run()
    {
        var reader = _queue.Reader;
        var batch = new List<QueuedWrite<TCommands>>(_maxBatch);
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
    private static bool WaitToRead(ChannelReader<QueuedWrite<TCommands>> reader)
    {
        var ready = reader.WaitToReadAsync();
        return ready.IsCompletedSuccessfully ? ready.Result : ready.AsTask().GetAwaiter().GetResult();
    }

    /// <summary>Stops taking writes, commits what is queued, then lets the store close what it owns.</summary>
    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _loop.ConfigureAwait(false);
        await OnClosedAsync().ConfigureAwait(false);
    }

    protected abstract ValueTask OnClosedAsync();
}
