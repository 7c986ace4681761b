namespace NostrRelay.Subscriptions;

/// <summary>
/// The last stream version a subscription shard saw per author, to drop repeats. Authors quiet for
/// <see cref="ForgetAfter"/> are forgotten once the table grows, so it holds the active authors only;
/// repeats come within seconds of the original (a retried batch, a re-driven event after a failover).
/// </summary>
internal sealed class AuthorVersions
{
    internal static readonly TimeSpan ForgetAfter = TimeSpan.FromMinutes(10);
    private const int PruneAbove = 100_000;
    private readonly Dictionary<string, Mark> _marks = new(StringComparer.Ordinal);
    private long _nextPrune;

    public int Count => _marks.Count;

    /// <summary>True when <paramref name="version"/> is new for this author (and records it); false for a repeat.</summary>
    public bool Advance(string author, long version, long timestamp)
    {
        ref var mark = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(_marks, author, out var existed);
        if (existed && version <= mark.Version) return false;
        mark = new Mark(version, timestamp);
        if (_marks.Count > PruneAbove && timestamp >= _nextPrune) Prune(timestamp);
        return true;
    }

    private void Prune(long now)
    {
        var horizon = now - (long)(ForgetAfter.TotalSeconds * System.Diagnostics.Stopwatch.Frequency);
        foreach (var (author, mark) in _marks)
            if (mark.SeenAt < horizon) _marks.Remove(author);
        _nextPrune = now + System.Diagnostics.Stopwatch.Frequency * 10;   // at most every 10 s
    }

    private readonly record struct Mark(long Version, long SeenAt);
}
