using System.Net.WebSockets;

namespace NostrRelay.Benchmarks.Client;

/// <summary>
/// One WebSocket to the relay. One sender and one receiver may use it at the same time (what
/// <see cref="ClientWebSocket"/> allows). A received message is returned as a view of a reused buffer:
/// the client has to stay cheap, because it shares the two cores with the relay it measures.
/// </summary>
internal sealed class RelayClient : IAsyncDisposable
{
    private readonly ClientWebSocket _socket;
    private byte[] _buffer = new byte[16 * 1024];

    private RelayClient(ClientWebSocket socket) => _socket = socket;

    /// <summary>Retries while the relay answers 503 (its shards are not attached yet) or refuses, up to <paramref name="patience"/>.</summary>
    public static async Task<RelayClient> ConnectAsync(Uri relay, TimeSpan patience, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + patience;
        while (true)
        {
            var socket = new ClientWebSocket();
            socket.Options.KeepAliveInterval = TimeSpan.Zero;   // the relay pings; unsolicited pongs would only add frames
            try
            {
                await socket.ConnectAsync(relay, cancellationToken);
                return new RelayClient(socket);
            }
            catch (WebSocketException) when (DateTime.UtcNow < deadline)
            {
                socket.Dispose();
                await Task.Delay(100, cancellationToken);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        }
    }

    public ValueTask SendAsync(ReadOnlyMemory<byte> frame, CancellationToken cancellationToken) =>
        _socket.SendAsync(frame, WebSocketMessageType.Text, endOfMessage: true, cancellationToken);

    /// <summary>The next whole message; valid until the next call. Throws when the relay closes the connection.</summary>
    public async ValueTask<ReadOnlyMemory<byte>> ReceiveAsync(CancellationToken cancellationToken)
    {
        var length = 0;
        while (true)
        {
            if (length == _buffer.Length) Array.Resize(ref _buffer, _buffer.Length * 2);
            var result = await _socket.ReceiveAsync(_buffer.AsMemory(length), cancellationToken);
            if (result.MessageType == WebSocketMessageType.Close)
                throw new WebSocketException($"the relay closed the connection: {_socket.CloseStatus} {_socket.CloseStatusDescription}");
            length += result.Count;
            if (result.EndOfMessage) return _buffer.AsMemory(0, length);
        }
    }

    /// <summary>Closes politely but briefly; the relay process is about to be stopped anyway.</summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            if (_socket.State == WebSocketState.Open)
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(1));
                await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "", timeout.Token);
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or ObjectDisposedException)
        {
        }
        _socket.Dispose();
    }
}
