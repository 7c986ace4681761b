namespace NostrRelay.Storage.Transfer;

/// <summary>Counts of an import or export so far, reported while it runs and at the end.</summary>
public sealed class TransferProgress
{
    private long _read, _accepted, _duplicate, _rejected;

    public long Read => Interlocked.Read(ref _read);
    public long Accepted => Interlocked.Read(ref _accepted);
    public long Duplicate => Interlocked.Read(ref _duplicate);
    public long Rejected => Interlocked.Read(ref _rejected);

    internal void CountRead() => Interlocked.Increment(ref _read);
    internal void CountAccepted() => Interlocked.Increment(ref _accepted);
    internal void CountDuplicate() => Interlocked.Increment(ref _duplicate);
    internal void CountRejected() => Interlocked.Increment(ref _rejected);

    public override string ToString() => $"{Read:N0} read, {Accepted:N0} accepted, {Duplicate:N0} duplicate, {Rejected:N0} rejected";
}
