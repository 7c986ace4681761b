namespace NostrRelay.Storage.RocksDb;

/// <summary>
/// One caller's write waiting for the writer thread. <see cref="Execute"/> runs inside a batch; the caller hears
/// of it only through <see cref="Complete"/>, after the batch is durable.
/// </summary>
internal abstract class PendingWrite(CancellationToken cancellationToken)
{
    /// <summary>Honoured until the writer takes the write; a write already in a batch goes through.</summary>
    public CancellationToken CancellationToken { get; } = cancellationToken;

    public abstract void Execute(RocksDbWriteCommands commands);

    /// <summary>Publishes what <see cref="Execute"/> decided; called once the batch is committed.</summary>
    public abstract void Complete();

    public abstract void Fail(Exception error);

    public abstract void Cancel();
}
