using NostrRelay.Grains;

namespace NostrRelay.Cluster.Interest;

/// <summary>
/// A live event this silo committed, remembered for a moment with the peers it went to, so that a peer that announces
/// new keys can be sent what it missed while they travelled, and nothing twice. A peer is marked under its own
/// <see cref="PeerInterest"/> lock, by the event's routing or by a replay, whichever comes first.
/// </summary>
internal sealed class SentEvent(LiveEvent evt, bool redriven, long at)
{
    private long _first;
    private long[]? _more;

    public LiveEvent Event { get; } = evt;
    public bool Redriven { get; } = redriven;

    /// <summary>When it was committed (a <see cref="TimeProvider"/> timestamp).</summary>
    public long At { get; } = at;

    /// <summary>Marks the peer with this index as sent; false when it already was.</summary>
    public bool TryMark(int peer)
    {
        if (peer < 64) return (Interlocked.Or(ref _first, 1L << peer) & (1L << peer)) == 0;
        // Rare: a cluster of more than 64 peers; the words past the first are kept under a lock on the event.
        lock (this)
        {
            var slot = peer / 64 - 1;
            if (_more is null || _more.Length <= slot) Array.Resize(ref _more, slot + 1);
            var bit = 1L << (peer % 64);
            if ((_more[slot] & bit) != 0) return false;
            _more[slot] |= bit;
            return true;
        }
    }
}
