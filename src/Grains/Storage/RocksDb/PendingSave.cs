using NostrRelay.Storage.Batching;
using NostrRelay.Protocol;

namespace NostrRelay.Storage.RocksDb;

/// <summary>A save or replace: checks then writes, as <see cref="IEventStore.SaveAsync"/> and <see cref="IEventStore.ReplaceAsync"/> say.</summary>
internal sealed class PendingSave(NostrEvent evt, string stream, long expectedVersion, bool replace, CancellationToken cancellationToken)
    : QueuedWrite<RocksDbWriteCommands>(cancellationToken)
{
    private readonly TaskCompletionSource<SaveResult> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private SaveResult _result;

    public Task<SaveResult> Task => _completion.Task;

    public override void Execute(RocksDbWriteCommands commands) => _result = Decide(commands);

    private SaveResult Decide(RocksDbWriteCommands commands)
    {
        Span<byte> id32 = stackalloc byte[32];
        Span<byte> pubkey32 = stackalloc byte[32];
        if (!RocksDbKeys.TryHex32(evt.Id, id32)) throw new ArgumentException("the id must be 64 lowercase hex characters", nameof(evt));
        if (!RocksDbKeys.TryHex32(evt.Pubkey, pubkey32)) throw new ArgumentException("the pubkey must be 64 lowercase hex characters", nameof(evt));
        if (commands.IdExists(id32)) return SaveResult.Duplicate;
        if (commands.ReadHead(stream) != expectedVersion) return SaveResult.VersionConflict;
        var version = expectedVersion + 1;
        // The head moves with every insert, so a taken (stream, version) means a damaged head: refuse rather than overwrite.
        if (commands.VersionTaken(stream, version)) return SaveResult.VersionConflict;
        if (replace)
        {
            // Check every holder before deleting any: a Superseded outcome must leave the address untouched.
            var holders = commands.ReadAddress(evt.Address!);
            foreach (var (_, holder) in holders)
                if (!evt.Supersedes(holder.CreatedAt, holder.Id)) return SaveResult.Superseded;
            foreach (var (position, holder) in holders) commands.Delete(position, holder);
        }
        var saved = commands.InsertEvent(evt, id32, pubkey32, stream, version);
        return new SaveResult(SaveOutcome.Saved, version, saved);
    }

    public override void Complete() => _completion.TrySetResult(_result);

    public override void Fail(Exception error) => _completion.TrySetException(error);

    public override void Cancel() => _completion.TrySetCanceled(CancellationToken);
}
