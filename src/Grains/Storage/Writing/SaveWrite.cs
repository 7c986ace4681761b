using NostrRelay.Protocol;

namespace NostrRelay.Storage.Writing;

/// <summary>A save or a replace, as <see cref="IEventStore.SaveAsync"/> and <see cref="IEventStore.ReplaceAsync"/> say.</summary>
internal sealed class SaveWrite(NostrEvent evt, string stream, long expectedVersion, bool replace, CancellationToken cancellationToken)
    : StoreWrite<SaveResult>(cancellationToken)
{
    private readonly string? _address = evt.Address;

    /// <summary>
    /// The content's words for a full-text index (NIP-50), made on the caller's thread before the write is queued, so
    /// the store's single writer thread only inserts them. Null where the store keeps no such index.
    /// </summary>
    public string? SearchWords { get; init; }

    public override void Claim(IWriteKeys keys)
    {
        keys.Id(evt.Id);
        keys.Stream(stream);
        if (_address is not null) keys.Address(_address);
        if (evt.Kind == DeletionRules.DeletionRequestKind) DeletionRules.Claim(evt, keys);
    }

    public override void Decide(IWriteTransaction transaction)
    {
        Result = default;
        if (transaction.FindById(evt.Id) is not null)
        {
            Result = SaveResult.Duplicate;
            return;
        }
        if (DeletionRules.IsDeleted(evt, transaction))
        {
            Result = SaveResult.Deleted;
            return;
        }
        if (transaction.Head(stream) != expectedVersion)
        {
            Result = SaveResult.VersionConflict;
            return;
        }
        if (replace)
        {
            // Check and parse every holder before removing any: a Superseded outcome, or stored JSON that
            // cannot be read, must leave the address untouched.
            var holders = transaction.Holders(_address!);
            for (var i = 0; i < holders.Count; i++)
            {
                if (!evt.Supersedes(holders[i].CreatedAt, holders[i].Id))
                {
                    Result = SaveResult.Superseded;
                    return;
                }
                _ = holders[i].Event;
            }
            for (var i = 0; i < holders.Count; i++) transaction.Remove(holders[i]);
        }
        if (evt.Kind == DeletionRules.DeletionRequestKind) DeletionRules.Apply(evt, transaction);
        var version = expectedVersion + 1;
        // Set before Insert: a store that draws the position at once calls Inserted from inside it.
        Result = new SaveResult(SaveOutcome.Saved, version);
        transaction.Insert(evt, stream, version, this);
    }

    public override void Inserted(long position) => Result = Result with { Position = position };
}
