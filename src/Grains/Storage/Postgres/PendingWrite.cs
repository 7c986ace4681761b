namespace NostrRelay.Storage.Postgres;

/// <summary>
/// One caller's write waiting for the writer. <see cref="Decide"/> runs against the rows a round read inside
/// the batch transaction, and runs again if the batch is retried; the caller hears of it only through
/// <see cref="Complete"/>, after COMMIT.
/// </summary>
internal abstract class PendingWrite(CancellationToken cancellationToken)
{
    /// <summary>Honoured until the writer takes the write; a write already in a batch goes through.</summary>
    public CancellationToken CancellationToken { get; } = cancellationToken;

    /// <summary>
    /// Joins the round unless an earlier write of it touches the same id, stream or address; then this write
    /// waits for the next round, which reads what that one wrote. So every decision in a round reads rows as
    /// the writes before it in the batch left them.
    /// </summary>
    public abstract bool TryJoin(WriteRound round);

    /// <summary>Decides against the round's rows and records the changes in it. Throws before changing anything.</summary>
    public abstract void Decide(WriteRound round);

    /// <summary>Publishes what <see cref="Decide"/> decided; called once the batch is committed.</summary>
    public abstract void Complete();

    public abstract void Fail(Exception error);

    public abstract void Cancel();
}
