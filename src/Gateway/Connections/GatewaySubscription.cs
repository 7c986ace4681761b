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
/// </summary>
internal sealed class GatewaySubscription(Filter[] filters, long openedAt)
{
    internal static readonly TimeSpan ResumeLookBack = TimeSpan.FromSeconds(30);
    internal const int RememberedEvents = 4096;

    private (long Key, long CreatedAt)[] _recent = [];
    private int _count;
    private int _next;
    private long _newest = openedAt;
    /// <summary>The newest created_at among events that fell out of the window: a resume cannot name those.</summary>
    private long _forgottenNewest = long.MinValue;

    public Filter[] Filters { get; } = filters;

    /// <summary>When the REQ arrived (a <see cref="System.Diagnostics.Stopwatch"/> timestamp), for the REQ to EOSE time.</summary>
    public long Started { get; } = System.Diagnostics.Stopwatch.GetTimestamp();

    /// <summary>Once true, a resume goes on from where the client got to; before, the REQ is registered whole again.</summary>
    public bool EndOfStoredEventsSent { get; set; }

    /// <summary>Called for every EVENT sent on this subscription (under the connection's lock); <paramref name="now"/> in unix seconds.</summary>
    public void Sent(NostrEvent evt, long now)
    {
        // Capped at the gateway's clock: one event stamped in 2100 must not move every resume past what is missed.
        var stamp = Math.Min(evt.CreatedAt, now);
        if (stamp > _newest) _newest = stamp;
        // Older than any resume would read: nothing to name (most stored events of a REQ).
        if (evt.CreatedAt < _newest - (long)ResumeLookBack.TotalSeconds) return;
        if (_count < _recent.Length)
        {
            _recent[_count++] = (ResumePoint.IdKey(evt.Id), evt.CreatedAt);
            return;
        }
        if (_recent.Length < RememberedEvents)
        {
            Array.Resize(ref _recent, Math.Min(RememberedEvents, Math.Max(8, _recent.Length * 2)));
            _recent[_count++] = (ResumePoint.IdKey(evt.Id), evt.CreatedAt);
            return;
        }
        var evicted = _recent[_next];
        if (evicted.CreatedAt > _forgottenNewest) _forgottenNewest = evicted.CreatedAt;
        _recent[_next] = (ResumePoint.IdKey(evt.Id), evt.CreatedAt);
        _next = (_next + 1) % _recent.Length;
    }

    /// <summary>
    /// From the look-back before the newest event sent, but not from before an event the window no longer
    /// names (a busy subscription's window covers less than the look-back: it would be sent twice).
    /// </summary>
    public ResumePoint ResumeFrom()
    {
        var since = Math.Max(_newest - (long)ResumeLookBack.TotalSeconds, _forgottenNewest);
        var sent = new List<long>(_count);
        for (var i = 0; i < _count; i++)
            if (_recent[i].CreatedAt >= since) sent.Add(_recent[i].Key);
        return new ResumePoint(since, [.. sent]);
    }
}
