using NostrRelay.Protocol;

namespace NostrRelay.Storage.Postgres;

/// <summary>A delete of one event by id, with its tag rows; the stream head stays, so its version is not reused.</summary>
internal sealed class PendingDelete(string id, CancellationToken cancellationToken) : PendingWrite(cancellationToken)
{
    private readonly TaskCompletionSource<bool> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private bool _deleted;

    public Task<bool> Task => _completion.Task;

    public override bool TryJoin(WriteRound round) => round.TryClaim(id, stream: null, address: null);

    public override void Decide(WriteRound round)
    {
        _deleted = false;
        if (round.FindById(id) is not { } row) return;
        round.Remove(row, EventReader.ParseStored(row.Json));
        _deleted = true;
    }

    public override void Complete() => _completion.TrySetResult(_deleted);

    public override void Fail(Exception error) => _completion.TrySetException(error);

    public override void Cancel() => _completion.TrySetCanceled(CancellationToken);
}
