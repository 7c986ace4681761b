using NostrRelay.Protocol;
using NostrRelay.Storage;
using NostrRelay.Storage.Memory;

namespace NostrRelay.Grains.Tests;

/// <summary>
/// A Memory store whose writes are decided in the order they come, as every store's single writer decides them, but
/// answered a few milliseconds later and out of order, as a group commit answers a batch; an event whose content is
/// <see cref="Failing"/> fails without being stored, and stream heads can be made to fail. It counts the writes it takes.
/// </summary>
public sealed class SlowAnswersStore : IEventStore
{
    public const string Failing = "the store fails on this one";
    private readonly MemoryEventStore _inner = new();
    private int _writes;
    private int _outstanding;
    private int _mostOutstanding;

    public int Writes => Volatile.Read(ref _writes);

    /// <summary>The most writes handed over and not yet answered at one time: above 1 only when writes go in rounds.</summary>
    public int MostOutstanding => Volatile.Read(ref _mostOutstanding);
    public bool FailHeadReads { get; set; }

    private TaskCompletionSource _answers = Answering();

    /// <summary>Until disposed, writes are decided as they come but none is answered, as if their commit took that long.</summary>
    public IDisposable HoldAnswers()
    {
        var held = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _answers = held;
        return new Release(() =>
        {
            _answers = Answering();
            held.TrySetResult();
        });
    }

    private static TaskCompletionSource Answering()
    {
        var open = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        open.TrySetResult();
        return open;
    }

    private sealed class Release(Action release) : IDisposable
    {
        public void Dispose() => release();
    }

    public Task<SaveResult> SaveAsync(NostrEvent evt, string stream, long expectedVersion, CancellationToken cancellationToken = default) =>
        Later(evt, () => _inner.SaveAsync(evt, stream, expectedVersion, cancellationToken));

    public Task<SaveResult> ReplaceAsync(NostrEvent evt, string stream, long expectedVersion, CancellationToken cancellationToken = default) =>
        Later(evt, () => _inner.ReplaceAsync(evt, stream, expectedVersion, cancellationToken));

    private async Task<SaveResult> Later(NostrEvent evt, Func<Task<SaveResult>> write)
    {
        Interlocked.Increment(ref _writes);
        var outstanding = Interlocked.Increment(ref _outstanding);
        int most;
        while (outstanding > (most = Volatile.Read(ref _mostOutstanding)) && Interlocked.CompareExchange(ref _mostOutstanding, outstanding, most) != most) { }
        var answers = _answers.Task;
        try
        {
            var decided = evt.Content == Failing ? Task.FromException<SaveResult>(new IOException("the disk is full")) : write();
            await Task.Delay(Random.Shared.Next(1, 6));
            await answers;
            return await decided;
        }
        finally
        {
            Interlocked.Decrement(ref _outstanding);
        }
    }

    public Task<long> ReadStreamHeadAsync(string stream, CancellationToken cancellationToken = default) =>
        FailHeadReads ? Task.FromException<long>(new IOException("the store is unreachable")) : _inner.ReadStreamHeadAsync(stream, cancellationToken);

    public Task InitAsync(CancellationToken cancellationToken = default) => _inner.InitAsync(cancellationToken);
    public IAsyncEnumerable<NostrEvent> QueryAsync(Filter filter, CancellationToken cancellationToken = default) => _inner.QueryAsync(filter, cancellationToken);
    public Task<long> CountAsync(Filter filter, CancellationToken cancellationToken = default) => _inner.CountAsync(filter, cancellationToken);
    public Task<bool> DeleteAsync(string id, CancellationToken cancellationToken = default) => _inner.DeleteAsync(id, cancellationToken);
    public IAsyncEnumerable<string> ReadExpiredAsync(long now, int max, CancellationToken cancellationToken = default) => _inner.ReadExpiredAsync(now, max, cancellationToken);
    public IAsyncEnumerable<StoredEvent> ReadAllAsync(long afterPosition, int max, CancellationToken cancellationToken = default) => _inner.ReadAllAsync(afterPosition, max, cancellationToken);
    public IAsyncEnumerable<StoredEvent> ReadStreamAsync(string stream, long afterVersion, int max, CancellationToken cancellationToken = default) => _inner.ReadStreamAsync(stream, afterVersion, max, cancellationToken);
    public ValueTask DisposeAsync() => _inner.DisposeAsync();
}

/// <summary>One silo over a <see cref="SlowAnswersStore"/>.</summary>
public sealed class SlowStoreClusterFixture() : RelayTestCluster(silos: 1, new SlowAnswersStore())
{
    public SlowAnswersStore Slow => (SlowAnswersStore)Store;
}

[CollectionDefinition(Name)]
public sealed class SlowStoreCollection : ICollectionFixture<SlowStoreClusterFixture>
{
    public const string Name = "slow store";
}
