using NostrRelay.Grains;
using NostrRelay.Protocol;

namespace NostrRelay.Connections;

/// <summary>
/// An open REQ as the gateway remembers it: its filters and how far the client got, so that when the
/// subscription grain holding it is lost with its silo, the gateway can register it again and the client
/// gets what it missed, once. Small on purpose: the newest created_at sent and the ids sent at that second
/// (one second of this subscription's traffic, which its client has just received anyway).
/// </summary>
internal sealed class GatewaySubscription(Filter[] filters, long openedAt)
{
    private readonly List<string> _idsAtNewest = [];
    private long _newest = openedAt;

    public Filter[] Filters { get; } = filters;

    /// <summary>Called for every EVENT sent on this subscription (under the connection's lock).</summary>
    public void Sent(NostrEvent evt)
    {
        if (evt.CreatedAt > _newest)
        {
            _newest = evt.CreatedAt;
            _idsAtNewest.Clear();
        }
        if (evt.CreatedAt == _newest) _idsAtNewest.Add(evt.Id);
    }

    public ResumePoint ResumePoint() => new(_newest, [.. _idsAtNewest]);
}
