using System.Net;
using System.Net.Sockets;

namespace NostrRelay.Benchmarks.Relay;

/// <summary>Ports the OS hands out now, so a benchmark never collides with a relay already on 7777/11111/30000.</summary>
internal static class FreePorts
{
    /// <summary>Distinct ports: all listeners stay open until every port is chosen, so none is handed out twice.</summary>
    public static int[] Take(int count)
    {
        var listeners = new TcpListener[count];
        try
        {
            var ports = new int[count];
            for (var i = 0; i < count; i++)
            {
                listeners[i] = new TcpListener(IPAddress.Loopback, 0);
                listeners[i].Start();
                ports[i] = ((IPEndPoint)listeners[i].LocalEndpoint).Port;
            }
            return ports;
        }
        finally
        {
            foreach (var listener in listeners) listener?.Stop();
        }
    }
}
