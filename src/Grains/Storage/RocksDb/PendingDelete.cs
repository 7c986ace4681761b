using NostrRelay.Storage.Batching;
namespace NostrRelay.Storage.RocksDb;

/// <summary>A delete of one event by id, with its index keys; the stream head stays, so its version is not reused.</summary>
internal sealed class PendingDelete(string id, CancellationToken cancellationToken) : QueuedWrite<RocksDbWriteCommands>(cancellationToken)
{
    private readonly TaskCompletionSource<bool> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private bool _deleted;

    public Task<bool> Task => _completion.Task;

    public override void Execute(RocksDbWriteCommands commands) => _deleted = commands.DeleteById(id);

    public override void Complete() => _completion.TrySetResult(_deleted);

    public override void Fail(Exception error) => _completion.TrySetException(error);

    public override void Cancel() => _completion.TrySetCanceled(CancellationToken);
}
