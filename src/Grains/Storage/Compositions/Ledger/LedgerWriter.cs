using System.Threading.Channels;

namespace NostrRelay.Storage.Compositions.Ledger;

/// <summary>
/// The one writer of a ledger: a dedicated thread takes whatever ledger writes are queued (up to a batch), runs them in
/// order in one transaction and completes their callers after COMMIT, so concurrent saves of a Sharded store share one
/// durable commit instead of paying one each. When a batch fails, none of it committed and each write runs again alone,
/// so only a write at fault fails.
/// </summary>
internal abstract class LedgerWriter : IAsyncDisposable
{
    private const int MaxBatch = 512;

    private readonly Channel<LedgerWrite> _queue = Channel.CreateBounded<LedgerWrite>(new BoundedChannelOptions(8_192)
    {
        SingleReader = true,
        FullMode = BoundedChannelFullMode.Wait,
    });
    private Task? _loop;

    /// <summary>Starts the writer thread; the subclass is ready to commit by then.</summary>
    protected void Start() => _loop = System.Threading.Tasks.Task.Factory.StartNew(Run, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    public async Task<long?> WriteAsync(LedgerWrite write)
    {
        try
        {
            if (!_queue.Writer.TryWrite(write)) await _queue.Writer.WriteAsync(write).ConfigureAwait(false);
        }
        catch (ChannelClosedException)
        {
            throw new ObjectDisposedException("shard ledger");
        }
        return await write.Task.ConfigureAwait(false);
    }

    /// <summary>Runs the writes in order in one transaction, setting each one's <see cref="LedgerWrite.Result"/>, and commits.</summary>
    protected abstract ValueTask CommitAsync(List<LedgerWrite> batch);

    private void Run()
    {
        var reader = _queue.Reader;
        var batch = new List<LedgerWrite>(MaxBatch);
        while (WaitToRead(reader))
        {
            while (batch.Count < MaxBatch && reader.TryRead(out var write)) batch.Add(write);
            if (!TryCommit(batch, out var error))
            {
                if (batch.Count == 1) batch[0].Fail(error!);
                else
                {
                    // One write's fault must not fail the saves queued beside it: each runs again in a transaction of its own.
                    var single = new List<LedgerWrite>(1);
                    foreach (var write in batch)
                    {
                        single.Add(write);
                        if (!TryCommit(single, out var alone)) write.Fail(alone!);
                        single.Clear();
                    }
                }
            }
            batch.Clear();
        }
    }

    private bool TryCommit(List<LedgerWrite> batch, out Exception? error)
    {
        try
        {
            var commit = CommitAsync(batch);
            if (!commit.IsCompletedSuccessfully) commit.AsTask().GetAwaiter().GetResult();
            foreach (var write in batch) write.Complete();
            error = null;
            return true;
        }
        catch (Exception e)
        {
            error = e;
            return false;
        }
    }

    // This thread is ours alone, so blocking it while the queue is empty costs the thread pool nothing.
    private static bool WaitToRead(ChannelReader<LedgerWrite> reader)
    {
        var ready = reader.WaitToReadAsync();
        return ready.IsCompletedSuccessfully ? ready.Result : ready.AsTask().GetAwaiter().GetResult();
    }

    /// <summary>Stops taking writes, commits what is queued, then lets the ledger close what it owns.</summary>
    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        if (_loop is not null) await _loop.ConfigureAwait(false);
        await OnClosedAsync().ConfigureAwait(false);
    }

    protected abstract ValueTask OnClosedAsync();
}
