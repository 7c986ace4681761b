using System.Net;
using System.Net.Sockets;

namespace NostrRelay.EndToEnd.Tests.Infrastructure;

/// <summary>
/// Ports for the relays these tests start, never 7777/11111/30000 of a running relay. They are counted out below the
/// kernel's range for outgoing connections (ip_local_port_range, 32768–60999 by default): a port the kernel handed out
/// there could be taken by any client socket of a parallel test between the check and the relay's bind (it happened:
/// "address already in use"), while one below it is only ever taken by a listener. Each is checked free before use.
/// </summary>
internal static class FreePort
{
    private const int Floor = 10_000;
    private static readonly int Ceiling = OutgoingRangeStart() - 1;
    private static int _next = Floor + Environment.ProcessId % 5_000;

    public static int Next()
    {
        for (var tries = 0; tries < Ceiling - Floor; tries++)
        {
            var port = Interlocked.Increment(ref _next);
            if (port > Ceiling)
            {
                Interlocked.CompareExchange(ref _next, Floor, port);
                continue;
            }
            if (IsFree(port)) return port;
        }
        throw new InvalidOperationException($"no free port between {Floor} and {Ceiling}");
    }

    private static bool IsFree(int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Any, port);
            listener.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private static int OutgoingRangeStart()
    {
        try
        {
            var range = File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range").Split((char[])['\t', ' ', '\n'], StringSplitOptions.RemoveEmptyEntries);
            if (int.TryParse(range[0], out var start) && start > Floor + 1_000) return start;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or IndexOutOfRangeException)
        {
        }
        return 32_768;
    }
}
