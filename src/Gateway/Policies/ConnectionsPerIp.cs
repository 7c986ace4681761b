using System.Collections.Concurrent;
using System.Net;

namespace NostrRelay.Policies;

/// <summary>Open WebSockets per client address on this gateway (<c>Relay:Limits:ConnectionsPerIp</c>).</summary>
internal sealed class ConnectionsPerIp(int limit)
{
    private readonly ConcurrentDictionary<IPAddress, int> _open = new();

    public int Limit => limit;

    public bool TryEnter(IPAddress? address)
    {
        if (address is null) return true;
        while (true)
        {
            var current = _open.GetOrAdd(address, 0);
            if (current >= limit) return false;
            if (_open.TryUpdate(address, current + 1, current)) return true;
        }
    }

    public void Leave(IPAddress? address)
    {
        if (address is null) return;
        while (_open.TryGetValue(address, out var current))
        {
            if (current <= 1)
            {
                if (_open.TryRemove(new KeyValuePair<IPAddress, int>(address, current))) return;
            }
            else if (_open.TryUpdate(address, current - 1, current)) return;
        }
    }
}
