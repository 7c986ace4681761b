namespace NostrRelay.Cluster.Interest;

/// <summary>
/// The last live events this silo committed (at most <see cref="DefaultCapacity"/>, none older than
/// <see cref="DefaultWindow"/> replayed): what a peer that announces new keys is sent again if it did not have them
/// (<see cref="PeerInterest.Apply(NostrRelay.Grains.InterestUpdate[], RecentEvents?, System.Action{SentEvent}?, System.TimeSpan)"/>). A REQ's keys reach the other silos a round trip after the REQ; an event committed
/// there meanwhile would otherwise reach it only through its store read, which an ephemeral event, or one a limit
/// leaves out, is not in.
/// </summary>
internal sealed class RecentEvents(TimeProvider time, int capacity = RecentEvents.DefaultCapacity, TimeSpan? window = null, TimeSpan? margin = null)
{
    /// <summary>
    /// The longest a REQ's keys may take to reach a peer and still have what was committed meanwhile replayed: longer than
    /// one call's response timeout (10 s), so a change that was lost once and sent again still brings its replay.
    /// </summary>
    public static readonly TimeSpan DefaultWindow = TimeSpan.FromSeconds(15);

    /// <summary>
    /// How much earlier than the sender says a change waited an event may have been committed and still be replayed:
    /// the change's time on the network and in this silo's queue.
    /// </summary>
    public static readonly TimeSpan DefaultMargin = TimeSpan.FromMilliseconds(500);

    public TimeSpan Window { get; } = window ?? DefaultWindow;
    public TimeSpan Margin { get; } = margin ?? DefaultMargin;

    /// <summary>Events remembered however busy the silo; older ones are dropped first (a parsed event of 1 KB of JSON holds about 3 KB).</summary>
    public const int DefaultCapacity = 16_384;

    private readonly SentEvent?[] _ring = new SentEvent?[capacity];
    private int _next;

    /// <summary>Remembers an event before it is routed to any peer.</summary>
    public SentEvent Add(Grains.LiveEvent evt, bool redriven)
    {
        SentEvent sent;
        lock (_ring)
        {
            sent = new SentEvent(evt, redriven, time.GetTimestamp());   // stamped in ring order, so a scan can stop at the first too old
            _ring[_next] = sent;
            _next = (_next + 1) % _ring.Length;
        }
        return sent;
    }

    /// <summary>
    /// Adds to <paramref name="events"/>, oldest first, the remembered events committed within <paramref name="waited"/>
    /// and the margin before now (never more than the window).
    /// </summary>
    public void Since(TimeSpan waited, List<SentEvent> events)
    {
        var span = waited + Margin;
        if (span > Window) span = Window;
        var since = time.GetTimestamp() - (long)(span.TotalSeconds * time.TimestampFrequency);
        var start = events.Count;
        lock (_ring)
        {
            for (int i = 0, at = _next; i < _ring.Length; i++)
            {
                at = at == 0 ? _ring.Length - 1 : at - 1;   // newest first, until one is too old
                if (_ring[at] is not { } sent || sent.At < since) break;
                events.Add(sent);
            }
        }
        events.Reverse(start, events.Count - start);
    }
}
