using NostrRelay.Storage.Batching;
using NostrRelay.Protocol;

namespace NostrRelay.Storage.Sqlite;

/// <summary>A save or replace: checks then writes, as <see cref="IEventStore.SaveAsync"/> and <see cref="IEventStore.ReplaceAsync"/> say.</summary>
internal sealed class PendingSave(NostrEvent evt, string stream, long expectedVersion, bool replace, CancellationToken cancellationToken)
    : QueuedWrite<SqliteWriteCommands>(cancellationToken)
{
    private readonly TaskCompletionSource<SaveResult> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private SaveResult _result;

    public Task<SaveResult> Task => _completion.Task;

    public override void Execute(SqliteWriteCommands commands) => _result = Decide(commands);

    private SaveResult Decide(SqliteWriteCommands commands)
    {
        if (commands.IdExists(evt.Id)) return SaveResult.Duplicate;
        if (commands.ReadHead(stream) != expectedVersion) return SaveResult.VersionConflict;
        var address = evt.Address;
        if (replace)
        {
            // Check every holder before deleting any: a Superseded outcome must leave the address untouched.
            var holders = commands.ReadAddress(address!);
            foreach (var holder in holders)
                if (!evt.Supersedes(holder.CreatedAt, holder.Id)) return SaveResult.Superseded;
            foreach (var holder in holders)
                commands.Delete(holder.Position, holder.Json);
        }
        var version = expectedVersion + 1;
        var position = commands.InsertEvent(evt, stream, version, address);
        commands.WriteHead(stream, version);
        return new SaveResult(SaveOutcome.Saved, version, position);
    }

    public override void Complete() => _completion.TrySetResult(_result);

    public override void Fail(Exception error) => _completion.TrySetException(error);

    public override void Cancel() => _completion.TrySetCanceled(CancellationToken);
}
