namespace NostrRelay.Storage.Batching;

/// <summary>
/// One caller's write waiting for a store's writer thread. <see cref="Execute"/> runs inside a batch (and may run
/// again if the batch is retried); the caller hears of it only through <see cref="Complete"/>, once the batch is
/// durable.
/// </summary>
internal abstract class QueuedWrite<TCommands>(CancellationToken cancellationToken)
{
    /// <summary>Honoured until the writer takes the write; a write already in a batch goes through.</summary>
    public CancellationToken CancellationToken { get; } = cancellationToken;

    public abstract void Execute(TCommands commands);

    /// <summary>Publishes what <see cref="Execute"/> decided; called once the batch is committed.</summary>
    public abstract void Complete();

    public abstract void Fail(Exception error);

    public abstract void Cancel();
}
