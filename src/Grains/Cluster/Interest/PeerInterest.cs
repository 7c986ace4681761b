using NostrRelay.Grains;
using NostrRelay.Protocol;

namespace NostrRelay.Cluster.Interest;

/// <summary>
/// What one other silo's live subscriptions can match, as that silo announced it: the events this silo sends it.
/// Until its first whole summary arrives, and after a change that did not follow on from the last one, nothing is
/// known and every event is sent, so a peer never misses an event while its summary travels.
/// </summary>
internal sealed class PeerInterest
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

    /// <summary>True when the event may match a subscription there (or nothing is known yet).</summary>
    public bool Wants(NostrEvent evt)
    {
        lock (_lock)
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
    }

    /// <summary>
    /// Applies changes in order: a whole summary replaces all, unless it is older than one applied before (a timed-out
    /// call overtaken by its retry); a change that follows on from the generation held is applied; one already applied
    /// (a retried call) is skipped. Anything else is a gap: nothing is known any more. Answers the generation held
    /// after, −1 after a gap.
    /// </summary>
    public long Apply(InterestUpdate[] updates)
    {
        lock (_lock)
        {
            foreach (var update in updates)
            {
                if (update.IsWhole)
                {
                    if (update.Generation < _highest) continue;
                    Clear();
                    foreach (var key in update.Added) Set(key, true);
                    _generation = _highest = update.Generation;
                }
                else if (_generation >= 0 && update.Base == _generation)
                {
                    foreach (var key in update.Removed) Set(key, false);
                    foreach (var key in update.Added) Set(key, true);
                    _generation = _highest = update.Generation;
                }
                else if (_generation >= 0 && update.Generation <= _generation)
                {
                    continue;
                }
                else
                {
                    Clear();
                    _generation = -1;
                    return -1;
                }
            }
            return _generation;
        }
    }

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
