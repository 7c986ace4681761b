using NostrRelay.Protocol;

namespace NostrRelay.Storage.Postgres;

/// <summary>A save or replace: checks then writes, as <see cref="IEventStore.SaveAsync"/> and <see cref="IEventStore.ReplaceAsync"/> say.</summary>
internal sealed class PendingSave(NostrEvent evt, string stream, long expectedVersion, bool replace, CancellationToken cancellationToken)
    : PendingWrite(cancellationToken)
{
    private readonly TaskCompletionSource<SaveResult> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly string? _address = evt.Address;
    private SaveResult _result;

    public Task<SaveResult> Task => _completion.Task;

    public NostrEvent Event => evt;
    public string Stream => stream;
    public string? Address => _address;
    public long Version => expectedVersion + 1;

    public override bool TryJoin(WriteRound round) => round.TryClaim(evt.Id, stream, _address);

    public override void Decide(WriteRound round)
    {
        _result = default;
        if (round.FindById(evt.Id) is not null)
        {
            _result = SaveResult.Duplicate;
            return;
        }
        if (round.Head(stream) != expectedVersion)
        {
            _result = SaveResult.VersionConflict;
            return;
        }
        if (replace && round.Holders(_address!) is { } holders)
        {
            // Check every holder and read its tags before removing any: a Superseded outcome, or stored JSON
            // that cannot be read, must leave the address untouched.
            var parsed = new NostrEvent[holders.Count];
            for (var i = 0; i < holders.Count; i++)
            {
                if (holders[i].Removed) continue;
                if (!evt.Supersedes(holders[i].CreatedAt, holders[i].Id))
                {
                    _result = SaveResult.Superseded;
                    return;
                }
                parsed[i] = EventReader.ParseStored(holders[i].Json);
            }
            for (var i = 0; i < holders.Count; i++)
                if (!holders[i].Removed) round.Remove(holders[i], parsed[i]);
        }
        round.Insert(this);
        round.SetHead(stream, Version);
        _result = new SaveResult(SaveOutcome.Saved, Version);
    }

    /// <summary>Set by the round once the insert returned the position it drew.</summary>
    public void Inserted(long position) => _result = _result with { Position = position };

    public override void Complete() => _completion.TrySetResult(_result);

    public override void Fail(Exception error) => _completion.TrySetException(error);

    public override void Cancel() => _completion.TrySetCanceled(CancellationToken);
}
