using System.Threading.Channels;
using NostrRelay.Protocol;

namespace NostrRelay.Storage.Writing;

/// <summary>
/// The one writer of a store instance: a dedicated thread takes whatever writes are queued (up to a batch) and
/// hands them to <see cref="RunBatchAsync"/> to be made durable at once, so a burst of concurrent saves costs one
/// sync. Nothing else writes, so a check never races with another writer. The queue is bounded: callers beyond
/// it wait for room. The store front ends (save, replace, delete) live here once for every store.
/// </summary>
internal abstract class GroupCommitWriter : IAsyncDisposable
{
    private readonly Channel<StoreWrite> _queue;
    private readonly int _maxBatch;
    private readonly string _storeName;
    private readonly Task _loop;

    protected GroupCommitWriter(string storeName, int maxBatch, int maxQueued)
    {
        if (maxBatch < 1) throw new ArgumentOutOfRangeException(nameof(maxBatch), "MaxWriteBatch must be at least 1");
        if (maxQueued < 1) throw new ArgumentOutOfRangeException(nameof(maxQueued), "MaxQueuedWrites must be at least 1");
        _storeName = storeName;
        _maxBatch = maxBatch;
        _queue = Channel.CreateBounded<StoreWrite>(new BoundedChannelOptions(maxQueued)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
        // A derived writer sets what RunBatchAsync uses in field initializers, which run before this constructor.
        _loop = Task.Factory.StartNew(Run, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }

    public Task<SaveResult> SaveAsync(NostrEvent evt, string stream, long expectedVersion, bool replace, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(evt);
        ArgumentNullException.ThrowIfNull(stream);
        if (replace && evt.Address is null) throw new ArgumentException("only replaceable and addressable events are replaced", nameof(evt));
        return WriteAsync(new SaveWrite(evt, stream, expectedVersion, replace, cancellationToken) { SearchWords = SearchWordsFor(evt) });
    }

    /// <summary>What <see cref="SaveWrite.SearchWords"/> holds for this store; none by default.</summary>
    protected virtual string? SearchWordsFor(NostrEvent evt) => null;

    public Task<bool> DeleteAsync(string id, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(id);
        return WriteAsync(new DeleteWrite(id, cancellationToken));
    }

    protected async Task<TResult> WriteAsync<TResult>(StoreWrite<TResult> write)
    {
        try
        {
            if (!_queue.Writer.TryWrite(write)) await _queue.Writer.WriteAsync(write, write.CancellationToken).ConfigureAwait(false);
        }
        catch (ChannelClosedException)
        {
            throw new ObjectDisposedException($"{_storeName} event store");
        }
        return await write.Task.ConfigureAwait(false);
    }

    /// <summary>
    /// Makes the batch durable and completes (or fails) every write in it. Embedded stores do it synchronously
    /// and return a completed task; a store behind a network waits on the writer thread, which is ours alone.
    /// </summary>
    protected abstract ValueTask RunBatchAsync(List<StoreWrite> batch);

    private void Run()
    {
        var reader = _queue.Reader;
        var batch = new List<StoreWrite>(_maxBatch);
        while (WaitToRead(reader))
        {
            while (batch.Count < _maxBatch && reader.TryRead(out var write))
            {
                if (write.CancellationToken.IsCancellationRequested) write.Cancel();
                else batch.Add(write);
            }
            if (batch.Count > 0)
            {
                var run = RunBatchAsync(batch);
                if (!run.IsCompletedSuccessfully) run.AsTask().GetAwaiter().GetResult();
            }
            batch.Clear();
        }
    }

    // This thread is ours alone, so blocking it while the queue is empty costs the thread pool nothing.
    private static bool WaitToRead(ChannelReader<StoreWrite> reader)
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
