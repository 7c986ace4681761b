namespace NostrRelay.Storage.Writing;

/// <summary>
/// The stream heads a store's one writer has read or moved, so it reads each from the store once rather than once per
/// event: nothing else writes, so what it knows stays true. Moves made by the open batch are kept apart until it
/// commits and dropped if it rolls back. At most 65,536 streams are kept; past that the committed ones are forgotten
/// and read again as they come.
/// </summary>
internal sealed class KnownHeads
{
    private const int MaxKnown = 65_536;

    private readonly Dictionary<string, long> _committed = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _batch = new(StringComparer.Ordinal);

    /// <summary>The head as the open batch sees it, when known.</summary>
    public bool TryGet(string stream, out long head) => _batch.TryGetValue(stream, out head) || _committed.TryGetValue(stream, out head);

    /// <summary>A head read from the store for a stream the open batch has not moved: what is committed.</summary>
    public void Read(string stream, long head)
    {
        if (_committed.Count >= MaxKnown) _committed.Clear();
        _committed[stream] = head;
    }

    /// <summary>The open batch moved the stream's head.</summary>
    public void Moved(string stream, long head) => _batch[stream] = head;

    /// <summary>The open batch committed: its moves are now what the store holds.</summary>
    public void Committed()
    {
        if (_committed.Count + _batch.Count > MaxKnown) _committed.Clear();
        foreach (var (stream, head) in _batch) _committed[stream] = head;
        _batch.Clear();
    }

    /// <summary>The open batch rolled back (or is starting): its moves never happened.</summary>
    public void Forget() => _batch.Clear();
}
