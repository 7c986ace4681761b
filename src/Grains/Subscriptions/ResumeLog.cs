using NostrRelay.Protocol;
using NostrRelay.Storage;

namespace NostrRelay.Subscriptions;

/// <summary>
/// The events stored past the resume points of the subscriptions resumed on this silo, read from the store's log once
/// for all of them. After a failover every gateway resumes every open REQ of each lost shard here, each from about the
/// same position (positions are the store's, so one range serves every shard); each reading the log itself would read
/// the outage's events once per subscription. Read on the catch-up threads, extended backwards and forwards as resumes
/// need, holding the newest <see cref="MaxEvents"/>; let go once no resume has used it for a while.
/// </summary>
internal sealed class ResumeLog(IEventStore store, TimeProvider time)
{
    /// <summary>
    /// About 20 s of events at 1,000 a second, some 60 MB parsed. A resume from further back gets the newest of them (an
    /// outage's events are the newest) and reads the older ones by created_at only, as before positions.
    /// </summary>
    internal const int MaxEvents = 20_000;

    /// <summary>How many of the newest events it keeps: <see cref="MaxEvents"/>, fewer in tests.</summary>
    internal int Keep { get; init; } = MaxEvents;

    /// <summary>One warning a minute that a resume asked for more than is kept: every REQ of a shard asks at once.</summary>
    private static readonly TimeSpan WarnEvery = TimeSpan.FromMinutes(1);

    private const int Page = 500;

    private readonly SemaphoreSlim _gate = new(1, 1);
    /// <summary>In position order: every stored event in (<see cref="_start"/>, <see cref="_end"/>].</summary>
    private readonly List<StoredEvent> _events = [];
    private long _start = -1;
    private long _end;
    /// <summary>Set once the oldest events were let go to keep the newest: a range that long is not read backwards again.</summary>
    private bool _cut;
    private long _usedAt;
    private long? _warnedAt;

    /// <summary>
    /// The events stored after <paramref name="afterPosition"/> that match one of <paramref name="filters"/> and have not
    /// expired, the newest <paramref name="max"/> of them; Whole is false when the log past the position held more than
    /// this keeps, so the oldest of it were not looked at. Continues on the caller's scheduler (the catch-up threads).
    /// </summary>
    public async Task<(List<NostrEvent> Matched, bool Whole)> ReadAsync(long afterPosition, Filter[] filters, long now, int max, CancellationToken cancellationToken)
    {
        StoredEvent[] past;
        bool whole;
        await _gate.WaitAsync(cancellationToken);
        try
        {
            _usedAt = time.GetTimestamp();
            if (_start < 0)
            {
                _start = afterPosition;
                _end = afterPosition;
            }
            else if (afterPosition < _start && !_cut) await ReadBeforeAsync(afterPosition, cancellationToken);
            await ReadNewerAsync(cancellationToken);
            whole = afterPosition >= _start;
            var first = FirstAfter(afterPosition);
            past = new StoredEvent[_events.Count - first];
            _events.CopyTo(first, past, 0, past.Length);   // matched outside the gate: other resumes read meanwhile
        }
        finally
        {
            _gate.Release();
        }
        return (Match(past, filters, now, max), whole);
    }

    /// <summary>True at most once a minute, for the caller to warn that a resume was cut.</summary>
    public bool ShouldWarn()
    {
        lock (_events)
        {
            if (_warnedAt is { } at && time.GetElapsedTime(at) < WarnEvery) return false;
            _warnedAt = time.GetTimestamp();
            return true;
        }
    }

    /// <summary>Lets the events go when no resume has used them for <paramref name="idle"/>.</summary>
    public void ReleaseIfIdle(TimeSpan idle)
    {
        if (!_gate.Wait(0)) return;   // a resume is reading it
        try
        {
            if (_start < 0 || time.GetElapsedTime(_usedAt) < idle) return;
            _events.Clear();
            _events.Capacity = 0;
            _start = -1;
            _cut = false;
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task ReadBeforeAsync(long afterPosition, CancellationToken cancellationToken)
    {
        var earlier = new List<StoredEvent>();
        var position = afterPosition;
        while (position < _start)
        {
            var read = 0;
            await foreach (var stored in store.ReadAllAsync(position, Page, cancellationToken))
            {
                read++;
                position = stored.Position;
                if (position > _start) break;
                earlier.Add(stored);
            }
            if (read < Page) break;
        }
        _events.InsertRange(0, earlier);
        _start = afterPosition;
        Trim();
    }

    private async Task ReadNewerAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            var read = 0;
            await foreach (var stored in store.ReadAllAsync(_end, Page, cancellationToken))
            {
                read++;
                _events.Add(stored);
                _end = stored.Position;
            }
            Trim();
            if (read < Page) return;
        }
    }

    /// <summary>Keeps the newest <see cref="Keep"/>: what is let go is covered from then on by created_at alone.</summary>
    private void Trim()
    {
        var over = _events.Count - Keep;
        if (over <= 0) return;
        _start = _events[over - 1].Position;
        _events.RemoveRange(0, over);
        _cut = true;
    }

    private static List<NostrEvent> Match(StoredEvent[] past, Filter[] filters, long now, int max)
    {
        var matchers = new FilterMatcher[filters.Length];
        for (var i = 0; i < filters.Length; i++) matchers[i] = new FilterMatcher(filters[i]);
        var matched = new List<NostrEvent>();
        for (var i = past.Length - 1; i >= 0 && matched.Count < max; i--)
        {
            var evt = past[i].Event;
            if (evt.IsExpiredAt(now)) continue;
            foreach (var matcher in matchers)
            {
                if (!matcher.Matches(evt)) continue;
                matched.Add(evt);
                break;
            }
        }
        return matched;
    }

    private int FirstAfter(long position)
    {
        int low = 0, high = _events.Count;
        while (low < high)
        {
            var middle = (low + high) >>> 1;
            if (_events[middle].Position <= position) low = middle + 1;
            else high = middle;
        }
        return low;
    }
}
