namespace NostrRelay.Storage.Writing;

/// <summary>A delete of one event by id (<see cref="IEventStore.DeleteAsync"/>); the stream head stays, so its version is not reused.</summary>
internal sealed class DeleteWrite(string id, CancellationToken cancellationToken) : StoreWrite<bool>(cancellationToken)
{
    public override void Claim(IWriteKeys keys) => keys.Id(id);

    public override void Decide(IWriteTransaction transaction)
    {
        Result = false;
        if (transaction.FindById(id) is not { } row) return;
        _ = row.Event;
        transaction.Remove(row);
        Result = true;
    }
}
