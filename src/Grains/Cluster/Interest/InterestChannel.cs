using Orleans.Runtime;
using NostrRelay.Grains;

namespace NostrRelay.Cluster.Interest;

/// <summary>
/// This silo's changes of interest on their way to one peer, sent in order, one call at a time, everything queued
/// meanwhile in the next call. Its state is guarded by <see cref="SiloInterest"/>'s lock.
/// </summary>
internal sealed class InterestChannel(SiloAddress peer)
{
    public SiloAddress Peer { get; } = peer;

    /// <summary>Changes not yet confirmed by the peer, oldest first, each with when it was queued (a timestamp).</summary>
    public Queue<(InterestUpdate Update, long Queued)> Pending { get; } = new();

    /// <summary>The last generation the peer confirmed holding; −1 before its first answer.</summary>
    public long Acknowledged { get; set; } = -1;

    /// <summary>A send loop is running for this channel.</summary>
    public bool Pumping { get; set; }

    /// <summary>The peer left the cluster or this silo is stopping: nothing more is sent.</summary>
    public bool Closed { get; set; }

    /// <summary>Queues a change; true when the caller must start the send loop.</summary>
    public bool Enqueue(InterestUpdate update, long now)
    {
        if (Closed) return false;
        Pending.Enqueue((update, now));
        if (Pumping) return false;
        Pumping = true;
        return true;
    }
}
