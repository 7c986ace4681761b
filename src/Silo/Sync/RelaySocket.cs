using System.Buffers;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;

namespace NostrRelay.Silo.Sync;

/// <summary>
/// A NIP-01 client connection for the operator commands: sends text frames, and hands every frame the relay sends, as
/// parsed JSON, to whoever reads <see cref="ReceiveAsync"/>. NOTICEs are written to stderr as they come.
/// </summary>
internal sealed class RelaySocket : IAsyncDisposable
{
    private const int MaxFrameBytes = 64 * 1024 * 1024;

    private readonly ClientWebSocket _socket;
    // Bounded: a relay that sends faster than the frames are used waits for the reader (TCP pushes back on it).
    private readonly Channel<JsonElement> _frames = Channel.CreateBounded<JsonElement>(new BoundedChannelOptions(4_096) { SingleWriter = true, FullMode = BoundedChannelFullMode.Wait });
    private readonly SemaphoreSlim _sending = new(1, 1);
    private readonly CancellationTokenSource _closing = new();
    private readonly Task _receiving;

    private RelaySocket(Uri url, ClientWebSocket socket)
    {
        Url = url;
        _socket = socket;
        _receiving = ReceiveLoopAsync();
    }

    public Uri Url { get; }

    /// <summary>True once the connection ended and every frame it brought was read.</summary>
    public bool IsClosed => _frames.Reader.Completion.IsCompleted;

    /// <summary>Connects, or throws <see cref="SyncException"/> saying the relay could not be reached.</summary>
    public static async Task<RelaySocket> ConnectAsync(Uri url, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var socket = new ClientWebSocket();
        // Pings, and a connection whose peer stops answering them ends instead of waiting forever.
        socket.Options.KeepAliveInterval = TimeSpan.FromSeconds(20);
        socket.Options.KeepAliveTimeout = TimeSpan.FromSeconds(20);
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(timeout);
        try
        {
            await socket.ConnectAsync(url, limit.Token);
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or HttpRequestException)
        {
            socket.Dispose();
            cancellationToken.ThrowIfCancellationRequested();
            throw new SyncException($"cannot connect to {url}: {(ex is OperationCanceledException ? "no answer within " + timeout.TotalSeconds + " s" : ex.Message)}");
        }
        return new RelaySocket(url, socket);
    }

    public async Task SendAsync(string frame, CancellationToken cancellationToken)
    {
        var bytes = Encoding.UTF8.GetBytes(frame);
        await _sending.WaitAsync(cancellationToken);
        try
        {
            await _socket.SendAsync(bytes, WebSocketMessageType.Text, endOfMessage: true, cancellationToken);
        }
        catch (Exception ex) when (ex is WebSocketException or IOException)
        {
            throw new SyncException($"lost the connection to {Url}: {ex.Message}");
        }
        finally
        {
            _sending.Release();
        }
    }

    /// <summary>The relay's next frame, or null when none came within <paramref name="wait"/>; <see cref="SyncException"/> once the connection ended.</summary>
    public async Task<JsonElement?> ReceiveOrNullAsync(TimeSpan wait, CancellationToken cancellationToken)
    {
        try
        {
            return await ReceiveAsync(wait, cancellationToken);
        }
        catch (SyncException) when (!_frames.Reader.Completion.IsCompleted)
        {
            return null;
        }
    }

    /// <summary>The relay's next frame; <see cref="SyncException"/> when none comes within the timeout or the connection ends.</summary>
    public async Task<JsonElement> ReceiveAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(timeout);
        try
        {
            return await _frames.Reader.ReadAsync(limit.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new SyncException($"{Url} sent nothing for {timeout.TotalSeconds:0} s");
        }
        catch (ChannelClosedException)
        {
            throw new SyncException($"{Url} closed the connection" + (_socket.CloseStatusDescription is { Length: > 0 } why ? ": " + why : ""));
        }
    }

    private async Task ReceiveLoopAsync()
    {
        var buffer = new ArrayBufferWriter<byte>(64 * 1024);
        try
        {
            while (!_closing.IsCancellationRequested)
            {
                var result = await _socket.ReceiveAsync(buffer.GetMemory(16 * 1024), _closing.Token);
                if (result.MessageType == WebSocketMessageType.Close) break;
                buffer.Advance(result.Count);
                if (buffer.WrittenCount > MaxFrameBytes) break;
                if (!result.EndOfMessage) continue;
                JsonElement frame;
                try
                {
                    using var document = JsonDocument.Parse(buffer.WrittenMemory);
                    frame = document.RootElement.Clone();
                }
                catch (JsonException)
                {
                    Console.Error.WriteLine($"{Url}: a frame that is not JSON was ignored");
                    buffer.ResetWrittenCount();
                    continue;
                }
                buffer.ResetWrittenCount();
                if (RelayFrame.Is(frame, "NOTICE") && frame.GetArrayLength() >= 2) Console.Error.WriteLine($"{Url} NOTICE: {frame[1]}");
                await _frames.Writer.WriteAsync(frame, _closing.Token);
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or IOException or ChannelClosedException)
        {
        }
        finally
        {
            _frames.Writer.TryComplete();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_socket.State == WebSocketState.Open)
        {
            try
            {
                // The close frame out; the receive loop reads the relay's answer and ends.
                using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "done", limit.Token);
            }
            catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or IOException or InvalidOperationException)
            {
            }
        }
        await Task.WhenAny(_receiving, Task.Delay(TimeSpan.FromSeconds(2)));
        _closing.Cancel();
        await _receiving;
        _socket.Dispose();
        _closing.Dispose();
    }
}
