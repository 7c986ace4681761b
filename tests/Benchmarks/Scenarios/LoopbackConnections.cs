using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using NostrRelay.Connections;
using NostrRelay.Framing;

namespace NostrRelay.Benchmarks.Scenarios;

/// <summary>
/// WebSocket connections over real loopback TCP, their server ends written as the relay writes a socket it owns
/// (<see cref="TransportStream"/> straight to a non-blocking socket, <see cref="OutboundQueue"/> framing), their
/// client ends read and thrown away as fast as they come, so that a delivery's cost is the relay's side alone: the
/// frame, the queue, the send and the kernel's loopback work.
/// </summary>
internal sealed class LoopbackConnections : IDisposable
{
    private readonly List<Socket> _sockets = [];
    private readonly CancellationTokenSource _stop = new();

    public OutboundQueue[] Queues { get; }

    public LoopbackConnections(int count)
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(count);
        Queues = new OutboundQueue[count];
        for (var i = 0; i < count; i++)
        {
            var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            client.Connect(listener.LocalEndPoint!);
            var server = listener.Accept();
            server.NoDelay = true;
            server.Blocking = false;
            _sockets.Add(client);
            _sockets.Add(server);
            var transport = new TransportStream(new UnusedPipe(), server);
            var webSocket = WebSocket.CreateFromStream(transport, new WebSocketCreationOptions { IsServer = true, KeepAliveInterval = Timeout.InfiniteTimeSpan });
            Queues[i] = new OutboundQueue(webSocket, 64L << 20, direct: transport);
            _ = DrainAsync(client);
        }
    }

    /// <summary>One delivery to connection <paramref name="connection"/>, as a shard's observer hands it on: held, queued, released.</summary>
    public void Deliver(int connection, string subscriptionId, byte[] eventJson)
    {
        var queue = Queues[connection];
        var held = queue.Hold();
        queue.TryEnqueue(RelayFrames.Event(subscriptionId, eventJson));
        if (held) queue.Release();
    }

    private async Task DrainAsync(Socket client)
    {
        var buffer = new byte[64 * 1024];
        try
        {
            while (await client.ReceiveAsync(buffer, SocketFlags.None, _stop.Token) > 0) { }
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException) { }
    }

    public void Dispose()
    {
        _stop.Cancel();
        foreach (var socket in _sockets) socket.Dispose();
    }

    /// <summary>The transport's pipes, which nothing here reads or writes: the frames go to the socket.</summary>
    private sealed class UnusedPipe : IDuplexPipe
    {
        private readonly Pipe _pipe = new();
        public PipeReader Input => _pipe.Reader;
        public PipeWriter Output => _pipe.Writer;
    }
}
