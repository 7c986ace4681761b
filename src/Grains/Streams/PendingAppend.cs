using NostrRelay.Grains;
using NostrRelay.Protocol;

namespace NostrRelay.Streams;

/// <summary>An event waiting in its author grain's queue, and the caller waiting for its answer.</summary>
internal sealed class PendingAppend(NostrEvent evt)
{
    private readonly TaskCompletionSource<AppendResult> _answer = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public NostrEvent Event { get; } = evt;

    /// <summary>True once the store said another writer moved the stream under this event and the head was read again.</summary>
    public bool ConflictRetried { get; set; }

    public Task<AppendResult> Answer => _answer.Task;

    public void Complete(AppendResult result) => _answer.TrySetResult(result);

    public void Fail(Exception ex) => _answer.TrySetException(ex);
}
