namespace NostrRelay.Storage.Sqlite;

/// <summary>
/// One caller's write waiting for the writer thread. <see cref="Execute"/> runs inside a batch transaction and
/// may run again if the batch is retried; the caller hears of it only through <see cref="Complete"/>, after COMMIT.
/// </summary>
internal abstract class PendingWrite(CancellationToken cancellationToken)
{
    /// <summary>Honoured until the writer takes the write; a write already in a batch goes through.</summary>
    public CancellationToken CancellationToken { get; } = cancellationToken;

    public abstract void Execute(SqliteWriteCommands commands);

    /// <summary>Publishes what <see cref="Execute"/> decided; called once the batch is committed.</summary>
    public abstract void Complete();

    public abstract void Fail(Exception error);

    public abstract void Cancel();
}
