using NostrRelay.Grains;
using NostrRelay.Protocol;

namespace NostrRelay.Connections;

/// <summary>
/// An open REQ as the gateway remembers it: its filters and what the client was sent lately, so that when the
/// subscription grain holding it is lost with its silo, the gateway can register it again and the client gets
/// what it missed, once. Events do not arrive in created_at order (clients sign ahead, relays forward late), so
/// a resume looks back <see cref="ResumeLookBack"/> before the newest created_at sent, and names the events
/// sent in that span so they are not sent twice. Small on purpose: the last <see cref="RememberedEvents"/>
/// events as (id key, created_at) pairs, 16 bytes each, allocated as they come: a quiet subscription holds a
/// few hundred bytes, a firehose at most 64 KiB, which covers the look-back up to about 130 events a second.
/// The same window stops repeats: around a failover one event can reach a subscription twice (a delivery batch sent again
/// after its answer was lost on the way to a gateway-only process, a resume re-reading what the lost activation had
/// sent). A resume's repeats are held back here: once a subscription has resumed, an event its window names is not sent
/// again, checked against a set of the window's keys made then and sized like it (a few hundred bytes for a quiet
/// subscription, about 100 KiB beside the window's 64 for a firehose). A subscription that never resumed pays nothing. A batch sent again is not caught here: it needs a batch number.
/// </summary>
internal sealed class GatewaySubscription(Filter[] filters, long openedAt)
{
    internal static readonly TimeSpan ResumeLookBack = TimeSpan.FromSeconds(30);
    internal const int RememberedEvents = 4096;

    private (long Key, long CreatedAt)[] _recent = [];
    private HashSet<long>? _named;   // the keys in _recent
    private int _count;
    private int _next;
    private long _newest = openedAt;
    /// <summary>The newest created_at among events that fell out of the window: a resume cannot name those.</summary>
    private long _forgottenNewest = long.MinValue;

    public Filter[] Filters { get; } = filters;

    /// <summary>What the subscription grain knows this REQ by (<see cref="SubscriptionKey"/>): its deliveries carry it.</summary>
    public string Key { get; init; } = "";

    /// <summary>Set once the grain is asked to hold it (under the connection's call order): only then is it taken off.</summary>
    public bool Registered { get; set; }

    /// <summary>When the REQ arrived (a <see cref="System.Diagnostics.Stopwatch"/> timestamp), for the REQ to EOSE time.</summary>
    public long Started { get; } = System.Diagnostics.Stopwatch.GetTimestamp();

    /// <summary>Once true, a resume goes on from where the client got to; before, the REQ is registered whole again.</summary>
    public bool EndOfStoredEventsSent { get; set; }

    /// <summary>
    /// Called for every EVENT about to be sent on this subscription (under the connection's lock); <paramref name="now"/> in
    /// unix seconds. False, once the subscription has resumed, for an event the window names: already sent, it is not sent
    /// again.
    /// </summary>
    public bool TrySend(NostrEvent evt, long now)
    {
        // Capped at the gateway's clock: one event stamped in 2100 must not move every resume past what is missed.
        var stamp = Math.Min(evt.CreatedAt, now);
        if (stamp > _newest) _newest = stamp;
        var older = evt.CreatedAt < _newest - (long)ResumeLookBack.TotalSeconds;
        long key = 0;
        if (_named is not null)
        {
            key = ResumePoint.IdKey(evt.Id);
            if (_named.Contains(key)) return false;
        }
        // Older than any resume would read by created_at: nothing to name (most stored events of a REQ). A live one is
        // named all the same: a resume also reads what was stored past a position, whatever its created_at.
        if (older && !EndOfStoredEventsSent) return true;
        if (key == 0) key = ResumePoint.IdKey(evt.Id);
        _named?.Add(key);
        if (_count < _recent.Length)
        {
            _recent[_count++] = (key, evt.CreatedAt);
            return true;
        }
        if (_recent.Length < RememberedEvents)
        {
            Array.Resize(ref _recent, Math.Min(RememberedEvents, Math.Max(8, _recent.Length * 2)));
            _named?.EnsureCapacity(_recent.Length + 1);   // grown with the window: by itself the set would reach twice it
            _recent[_count++] = (key, evt.CreatedAt);
            return true;
        }
        var evicted = _recent[_next];
        if (evicted.CreatedAt > _forgottenNewest) _forgottenNewest = evicted.CreatedAt;
        _named?.Remove(evicted.Key);
        _recent[_next] = (key, evt.CreatedAt);
        _next = (_next + 1) % _recent.Length;
        return true;
    }

    /// <summary>The window's keys as a set, made from it at the first resume and kept in step after.</summary>
    private HashSet<long> Named()
    {
        if (_named is not null) return _named;
        _named = new HashSet<long>(_recent.Length + 1);   // as large as the window: a quiet subscription's is small
        for (var i = 0; i < _count; i++) _named.Add(_recent[i].Key);
        return _named;
    }

    /// <summary>
    /// From the look-back before the newest event sent, but not from before an event the window no longer
    /// names (a busy subscription's window covers less than the look-back: it would be sent twice); and from
    /// <paramref name="afterPosition"/>, the store position the lost activation had matched everything up to, whatever
    /// the created_at (0: unknown). The events read past the position can be of any age, so the whole window is named.
    /// </summary>
    public ResumePoint ResumeFrom(long afterPosition)
    {
        Named();   // the shard that takes the resume starts from a store read: what it sends from here may repeat
        var since = Math.Max(_newest - (long)ResumeLookBack.TotalSeconds, _forgottenNewest);
        var sent = new List<long>(_count);
        for (var i = 0; i < _count; i++)
            if (afterPosition > 0 || _recent[i].CreatedAt >= since) sent.Add(_recent[i].Key);
        return new ResumePoint(since, [.. sent], afterPosition);
    }
}
