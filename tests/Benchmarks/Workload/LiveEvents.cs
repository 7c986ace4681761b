namespace NostrRelay.Benchmarks.Workload;

/// <summary>
/// Kind-1 events for live delivery, all with one created_at (the subscribers' <c>since</c>), signed before timing,
/// with the lookup from an id's key to its position and a slot per event for the time its publisher sent it.
/// </summary>
internal sealed class LiveEvents
{
    private LiveEvents(SignedEvent[] signed, long createdAt)
    {
        Signed = signed;
        CreatedAt = createdAt;
        Index = new Dictionary<ulong, int>(signed.Length);
        for (var i = 0; i < signed.Length; i++) Index[signed[i].Key] = i;
        SentAt = new long[signed.Length];
    }

    public SignedEvent[] Signed { get; }
    public long CreatedAt { get; }
    public Dictionary<ulong, int> Index { get; }

    /// <summary><see cref="System.Diagnostics.Stopwatch"/> ticks, written by the publisher just before it sends event i.</summary>
    public long[] SentAt { get; }

    /// <summary>Event i by author i % <paramref name="authors"/> of a fixed key set.</summary>
    public static LiveEvents Sign(int authors, int seed, string label, int count, long createdAt)
    {
        var keys = Authors.Create(authors, seed);
        var drafts = new EventDraft[count];
        for (var i = 0; i < count; i++) drafts[i] = new EventDraft(i % keys.Count, createdAt, 1, [], $"{label} event {i}: hello, subscribers");
        return Sign(keys, drafts, createdAt);
    }

    /// <summary>Drafts of the caller's own, every one with <paramref name="createdAt"/>.</summary>
    public static LiveEvents Sign(Authors keys, EventDraft[] drafts, long createdAt) => new(EventSigning.Sign(keys, drafts), createdAt);
}
