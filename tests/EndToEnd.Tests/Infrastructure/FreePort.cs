using System.Net;
using System.Net.Sockets;

namespace NostrRelay.EndToEnd.Tests.Infrastructure;

/// <summary>Ports the OS has just handed out, so tests never take 7777/11111/30000 from a running relay.</summary>
internal static class FreePort
{
    public static int Next()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
