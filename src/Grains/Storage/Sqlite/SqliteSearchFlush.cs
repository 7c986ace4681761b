using NostrRelay.Storage.Writing;

namespace NostrRelay.Storage.Sqlite;

/// <summary>
/// A search's request that every event committed before it be in the FTS5 index: it goes through the writer's queue
/// like a write, so it is answered after the batches ahead of it, once the writer has indexed what waits.
/// </summary>
internal sealed class SqliteSearchFlush(CancellationToken cancellationToken) : StoreWrite<bool>(cancellationToken)
{
    public override void Claim(IWriteKeys keys)
    {
    }

    public override void Decide(IWriteTransaction transaction) => Result = true;
}
