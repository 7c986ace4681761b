using NostrRelay.Grains;
using NostrRelay.Protocol;

namespace NostrRelay.Cluster.Interest;

/// <summary>
/// What one other silo's live subscriptions can match, as that silo announced it: the events this silo sends it.
/// Until its first whole summary arrives, and after a change that did not follow on from the last one, nothing is
/// known and every event is sent, so a peer never misses an event while its summary travels.
/// </summary>
internal sealed class PeerInterest(int index = -1)
{

    private readonly Lock _lock = new();
    private readonly HashSet<string> _ids = new(StringComparer.Ordinal);
    private readonly HashSet<string> _authors = new(StringComparer.Ordinal);
    private readonly HashSet<(char, string)> _tags = [];
    private readonly HashSet<int> _kinds = [];
    private bool _everything;
    private long _generation = -1;

    /// <summary>The highest generation ever applied, kept across a gap: a late copy of an older whole summary is stale.</summary>
    private long _highest = -1;

    /// <summary>This peer's place in each <see cref="SentEvent"/>'s marks; −1 when events are not marked (routing off).</summary>
    public int Index { get; } = index;

    /// <summary>True when the event may match a subscription there (or nothing is known yet).</summary>
    public bool Wants(NostrEvent evt)
    {
        lock (_lock) return WantsLocked(evt);
    }

    /// <summary>
    /// Sends a committed event to this peer if it may want it and has not had it. Deciding, marking and queueing happen
    /// under this peer's lock, as a replay does, so the event is sent once and a replay never overtakes a later event.
    /// </summary>
    public bool Route(SentEvent sent, Action<SentEvent> send)
    {
        lock (_lock)
        {
            if (!WantsLocked(sent.Event.Event) || (Index >= 0 && !sent.TryMark(Index))) return false;
            send(sent);
            return true;
        }
    }

    private bool WantsLocked(NostrEvent evt)
    {
        if (_generation < 0 || _everything) return true;
        if (_authors.Count > 0 && _authors.Contains(evt.Pubkey)) return true;
        if (_kinds.Count > 0 && _kinds.Contains(evt.Kind)) return true;
        if (_ids.Count > 0 && _ids.Contains(evt.Id)) return true;
        if (_tags.Count > 0)
        {
            foreach (var tag in evt.Tags)
                if (tag.Length >= 2 && tag[0].Length == 1 && _tags.Contains((tag[0][0], tag[1]))) return true;
        }
        return false;
    }

    /// <summary>
    /// Applies changes in order: a whole summary replaces all, unless it is older than one applied before (a timed-out
    /// call overtaken by its retry); a change that follows on from the generation held is applied; one already applied
    /// (a retried call) is skipped. Anything else is a gap: nothing is known any more. Answers the generation held
    /// after, −1 after a gap.
    /// </summary>
    public long Apply(InterestUpdate[] updates) => Apply(updates, null, null, TimeSpan.Zero);

    /// <param name="recent">This silo's recent events: those committed within <paramref name="waited"/> (how long the
    /// changes waited at their sender) and <see cref="RecentEvents.Margin"/>, that the new keys name and this peer did not have, are sent to it
    /// through <paramref name="resend"/>, oldest first, before anything routed by the new keys.</param>
    public long Apply(InterestUpdate[] updates, RecentEvents? recent, Action<SentEvent>? resend, TimeSpan waited)
    {
        lock (_lock)
        {
            var added = false;
            foreach (var update in updates)
            {
                if (update.IsWhole)
                {
                    if (update.Generation < _highest) continue;
                    Clear();
                    foreach (var key in update.Added) Set(key, true);
                    _generation = _highest = update.Generation;
                    added |= update.Added.Length > 0;
                }
                else if (_generation >= 0 && update.Base == _generation)
                {
                    foreach (var key in update.Removed) Set(key, false);
                    foreach (var key in update.Added) Set(key, true);
                    _generation = _highest = update.Generation;
                    added |= update.Added.Length > 0;
                }
                else if (_generation >= 0 && update.Generation <= _generation)
                {
                    continue;
                }
                else
                {
                    Clear();
                    _generation = -1;
                    return -1;   // everything is sent from now; the whole summary that follows brings the replay
                }
            }
            if (added && recent is not null && resend is not null) Replay(recent, resend, waited);
            return _generation;
        }
    }

    /// <summary>Under the lock: what the new keys name among the recent events, unless this peer had it.</summary>
    private void Replay(RecentEvents recent, Action<SentEvent> resend, TimeSpan waited)
    {
        _replay.Clear();
        recent.Since(waited, _replay);
        foreach (var sent in _replay)
            if (WantsLocked(sent.Event.Event) && (Index < 0 || sent.TryMark(Index))) resend(sent);
        _replay.Clear();
    }

    private readonly List<SentEvent> _replay = [];

    private void Clear()
    {
        _ids.Clear();
        _authors.Clear();
        _tags.Clear();
        _kinds.Clear();
        _everything = false;
    }

    private void Set(InterestKey key, bool present)
    {
        switch (key.Kind)
        {
            case InterestKind.Everything: _everything = present; break;
            case InterestKind.Id: if (present) _ids.Add(key.Value); else _ids.Remove(key.Value); break;
            case InterestKind.Author: if (present) _authors.Add(key.Value); else _authors.Remove(key.Value); break;
            case InterestKind.Tag: if (present) _tags.Add((key.Tag, key.Value)); else _tags.Remove((key.Tag, key.Value)); break;
            case InterestKind.Kind: if (present) _kinds.Add(key.Number); else _kinds.Remove(key.Number); break;
        }
    }
}
