using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;

namespace NostrRelay.EndToEnd.Tests.Infrastructure;

/// <summary>A raw WebSocket client that keeps every frame the relay sends, in order, for tests to wait on.</summary>
public sealed class TestClient : IAsyncDisposable
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(10);

    private readonly ClientWebSocket _socket;
    private readonly Channel<JsonElement> _incoming = Channel.CreateUnbounded<JsonElement>();
    private readonly List<JsonElement> _held = [];
    private readonly Task _receiving;
    private readonly SemaphoreSlim _sendGate = new(1, 1);

    private TestClient(ClientWebSocket socket)
    {
        _socket = socket;
        _receiving = Task.Run(ReceiveAsync);
    }

    public WebSocketCloseStatus? CloseStatus => _socket.CloseStatus;
    public string? CloseStatusDescription => _socket.CloseStatusDescription;
    public WebSocketState State => _socket.State;
    public Task Closed => _receiving;

    private readonly List<string> _challenges = [];
    private readonly SemaphoreSlim _challenged = new(0);

    /// <summary>How many AUTH challenges the relay sent so far.</summary>
    public int ChallengeCount
    {
        get { lock (_challenges) return _challenges.Count; }
    }

    /// <summary>The first AUTH challenge (NIP-42), waiting for it when it has not come yet.</summary>
    public async Task<string> ChallengeAsync(TimeSpan? timeout = null)
    {
        lock (_challenges) if (_challenges.Count > 0) return _challenges[0];
        if (!await _challenged.WaitAsync(timeout ?? DefaultTimeout)) throw new TimeoutException("no AUTH challenge came");
        lock (_challenges) return _challenges[0];
    }

    public static async Task<TestClient> ConnectAsync(Uri url)
    {
        var socket = new ClientWebSocket();
        await socket.ConnectAsync(url, CancellationToken.None);
        return new TestClient(socket);
    }

    private async Task ReceiveAsync()
    {
        var buffer = new byte[1 << 16];
        using var message = new MemoryStream();
        try
        {
            while (true)
            {
                var result = await _socket.ReceiveAsync(buffer, CancellationToken.None);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    if (_socket.State == WebSocketState.CloseReceived)
                        await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "", CancellationToken.None);
                    break;
                }
                message.Write(buffer, 0, result.Count);
                if (!result.EndOfMessage) continue;
                var frame = JsonDocument.Parse(message.ToArray()).RootElement.Clone();
                message.SetLength(0);
                // NIP-42 challenges are kept apart, so tests that read frames in order do not see them.
                if (Frames.Is(frame, "AUTH") && frame.GetArrayLength() == 2 && frame[1].ValueKind == JsonValueKind.String)
                {
                    lock (_challenges) _challenges.Add(frame[1].GetString()!);
                    _challenged.Release();
                    continue;
                }
                _incoming.Writer.TryWrite(frame);
            }
        }
        catch (WebSocketException)
        {
        }
        finally
        {
            _incoming.Writer.TryComplete();
        }
    }

    public Task SendAsync(string text) => SendRawAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text);

    public async Task SendRawAsync(byte[] bytes, WebSocketMessageType type, bool endOfMessage = true)
    {
        await _sendGate.WaitAsync();
        try { await _socket.SendAsync(bytes, type, endOfMessage, CancellationToken.None); }
        finally { _sendGate.Release(); }
    }

    /// <summary>The next frame in arrival order.</summary>
    public async Task<JsonElement> NextAsync(TimeSpan? timeout = null)
    {
        if (_held.Count > 0)
        {
            var first = _held[0];
            _held.RemoveAt(0);
            return first;
        }
        using var cts = new CancellationTokenSource(timeout ?? DefaultTimeout);
        return await _incoming.Reader.ReadAsync(cts.Token);
    }

    /// <summary>The first frame (in arrival order) that matches; frames before it stay for later calls.</summary>
    public async Task<JsonElement> ExpectAsync(Func<JsonElement, bool> match, TimeSpan? timeout = null)
    {
        for (var i = 0; i < _held.Count; i++)
        {
            if (!match(_held[i])) continue;
            var found = _held[i];
            _held.RemoveAt(i);
            return found;
        }
        using var cts = new CancellationTokenSource(timeout ?? DefaultTimeout);
        while (true)
        {
            var frame = await _incoming.Reader.ReadAsync(cts.Token);
            if (match(frame)) return frame;
            _held.Add(frame);
        }
    }

    /// <summary>True when no frame matching arrives within the window; used only to show something was NOT sent.</summary>
    public async Task<bool> NoneArrivesAsync(Func<JsonElement, bool> match, TimeSpan window)
    {
        try
        {
            await ExpectAsync(match, window);
            return false;
        }
        catch (OperationCanceledException)
        {
            return true;
        }
    }

    public async Task<(bool Accepted, string Message)> PublishAsync(SignedEvent evt) => await PublishRawAsync(evt.Id, $"[\"EVENT\",{evt.Json}]");

    public async Task<(bool Accepted, string Message)> PublishRawAsync(string eventId, string frame)
    {
        await SendAsync(frame);
        var ok = await ExpectAsync(f => Frames.Is(f, "OK") && f[1].GetString() == eventId);
        return (ok[2].GetBoolean(), ok[3].GetString()!);
    }

    /// <summary>Sends a REQ and returns the stored events up to its EOSE.</summary>
    public async Task<List<JsonElement>> QueryAsync(string subscriptionId, params object[] filters)
    {
        await SendAsync(Frames.Req(subscriptionId, filters));
        var events = new List<JsonElement>();
        while (true)
        {
            var frame = await ExpectAsync(f => Frames.IsFor(f, subscriptionId));
            if (Frames.Is(frame, "EOSE")) return events;
            if (Frames.Is(frame, "CLOSED")) throw new InvalidOperationException("subscription closed: " + frame);
            events.Add(frame[2]);
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (_socket.State == WebSocketState.Open)
            {
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "", cts.Token);
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException)
        {
        }
        await Task.WhenAny(_receiving, Task.Delay(2000));
        _socket.Dispose();
    }
}
