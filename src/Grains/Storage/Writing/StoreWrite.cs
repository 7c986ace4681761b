namespace NostrRelay.Storage.Writing;

/// <summary>
/// One caller's write, waiting for a store's writer. What it does is decided once, here, for every store:
/// <see cref="Decide"/> reads and changes the store only through <see cref="IWriteTransaction"/>, inside the
/// writer's batch transaction, and may run again if the batch is retried. The caller hears of it only through
/// <see cref="Complete"/>, once the batch is durable.
/// </summary>
internal abstract class StoreWrite(CancellationToken cancellationToken)
{
    /// <summary>Honoured until the writer takes the write; a write already in a batch goes through.</summary>
    public CancellationToken CancellationToken { get; } = cancellationToken;

    /// <summary>
    /// Names every id, stream and address <see cref="Decide"/> will read. A store that reads ahead for a
    /// whole batch (Postgres) reads these, and runs two writes that name the same key in separate rounds.
    /// </summary>
    public abstract void Claim(IWriteKeys keys);

    /// <summary>
    /// Decides against what the transaction holds and records the changes in it. Throws, if it must, before
    /// changing anything: a store that collects changes in memory (Postgres) cannot take back half of them.
    /// </summary>
    public abstract void Decide(IWriteTransaction transaction);

    /// <summary>Hears the position an <see cref="IWriteTransaction.Insert"/> of this write drew; some stores draw it only when the batch is applied.</summary>
    public virtual void Inserted(long position)
    {
    }

    /// <summary>Publishes what <see cref="Decide"/> decided; called once the batch is committed.</summary>
    public abstract void Complete();

    public abstract void Fail(Exception error);

    public abstract void Cancel();
}

/// <summary>A write whose caller awaits a <typeparamref name="TResult"/>.</summary>
internal abstract class StoreWrite<TResult>(CancellationToken cancellationToken) : StoreWrite(cancellationToken)
{
    private readonly TaskCompletionSource<TResult> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>What the last <see cref="StoreWrite.Decide"/> decided; reset by each run of it.</summary>
    protected TResult Result { get; set; } = default!;

    public Task<TResult> Task => _completion.Task;

    public sealed override void Complete() => _completion.TrySetResult(Result);

    public sealed override void Fail(Exception error) => _completion.TrySetException(error);

    public sealed override void Cancel() => _completion.TrySetCanceled(CancellationToken);
}
