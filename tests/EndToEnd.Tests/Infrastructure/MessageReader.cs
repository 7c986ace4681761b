using System.Net.WebSockets;
using System.Text.Json;

namespace NostrRelay.EndToEnd.Tests.Infrastructure;

/// <summary>Reads whole messages off a WebSocket a test drives itself (rather than through <see cref="TestClient"/>).</summary>
public sealed class MessageReader(WebSocket socket) : IDisposable
{
    private readonly byte[] _buffer = new byte[1 << 16];
    private readonly MemoryStream _message = new();

    /// <summary>The next message, parsed; null once the relay sent its close frame (the status is then on the socket).</summary>
    public async Task<JsonElement?> NextAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            var result = await socket.ReceiveAsync(_buffer, cancellationToken);
            if (result.MessageType == WebSocketMessageType.Close) return null;
            _message.Write(_buffer, 0, result.Count);
            if (!result.EndOfMessage) continue;
            var frame = JsonDocument.Parse(_message.ToArray()).RootElement.Clone();
            _message.SetLength(0);
            return frame;
        }
    }

    public void Dispose() => _message.Dispose();
}
