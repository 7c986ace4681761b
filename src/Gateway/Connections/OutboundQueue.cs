using System.Buffers;
using System.Net.WebSockets;
using NostrRelay.Framing;

namespace NostrRelay.Connections;

/// <summary>
/// Frames waiting for one connection's socket, bounded in bytes (of memory held: a frame's pooled array, not only its
/// length), and the one sender that writes them.
/// Whoever enqueues into an idle queue sends right away on its own thread; frames that arrive during a
/// send are taken by that same sender. No send loop waits on a signal, so a delivery to an idle socket
/// costs no thread wake-up. Subscription traffic that would pass the bound is refused (the caller closes
/// that subscription); replies the client asked for (OK, CLOSED, NOTICE) are always taken, since their
/// number is bounded by what the client has in flight.
/// On a socket the relay writes straight (<paramref name="direct"/>), the sender frames what is queued itself and
/// sends up to <see cref="SendBytes"/> of it at once: a REQ's hundred stored events go in a few sends, not a hundred;
/// a frame alone (a live event, most often) goes from its own buffer, with nothing copied.
/// </summary>
internal sealed class OutboundQueue(WebSocket socket, long maxBytes, Action<int>? drained = null, Action<int>? sent = null, TransportStream? direct = null)
{
    /// <summary>The most one send carries, a frame longer than that alone excepted.</summary>
    internal const int SendBytes = 64 * 1024;

    /// <summary>Past this, the subscription grain is told the connection is behind and pauses its stored-event reads.</summary>
    private readonly long _behindBytes = maxBytes / 4;
    /// <summary>Under this again, the grain is told to go on.</summary>
    private readonly long _drainedBytes = maxBytes / 16;
    private int _behind;
    private int _episode;
    /// <summary>
    /// Small and under a lock rather than a lock-free queue: the one sender takes frames as fast as producers add them,
    /// so the lock is rarely contended, and an idle connection holds a queue of a few slots instead of a lock-free
    /// queue's 32-slot segment (1.3 KB of the 18 KB an idle connection cost). A queue a burst grew is dropped once
    /// drained, so it does not stay large.
    /// </summary>
    private readonly Lock _gate = new();
    private Queue<Queued>? _frames;
    private bool _grown;
    private const int SmallQueue = 4, LargeQueue = 64;
    private readonly TaskCompletionSource _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _bytes;
    private int _sending;
    private volatile bool _completing;
    private volatile bool _broken;
    private WebSocketCloseStatus _closeStatus = WebSocketCloseStatus.NormalClosure;
    private string _closeDescription = "";

    /// <summary>Completes once the close frame went out after the last queued frame, or the socket broke.</summary>
    public Task Closed => _closed.Task;

    /// <summary>Bytes queued and not yet sent, the frame being sent included.</summary>
    public long QueuedBytes => Interlocked.Read(ref _bytes);

    /// <summary>
    /// True while the queue holds more than a quarter of its bound, with the number of the episode (a new one each time
    /// it passes that mark); <c>drained</c> is called with it when the queue is nearly empty again. Reported on every
    /// delivery while behind, so a pause that ran out in the grain starts again.
    /// </summary>
    public bool IsBehind(out int episode)
    {
        episode = 0;
        if (Interlocked.Read(ref _bytes) <= _behindBytes) return false;
        if (Interlocked.CompareExchange(ref _behind, 1, 0) == 0) Interlocked.Increment(ref _episode);
        episode = Volatile.Read(ref _episode);
        return true;
    }

    /// <summary>True once the queue is closing: frames refused now say nothing about the client's reading.</summary>
    public bool Completing => _completing;

    /// <summary>False (and the frame released) when the bound would be passed or the queue is closing.</summary>
    public bool TryEnqueue(OutboundFrame frame)
    {
        if (_completing || _broken || !Reserve(frame.Footprint))
        {
            frame.Release();
            return false;
        }
        Push(new Queued(frame, Reply: false));
        Send();
        return true;
    }

    /// <summary>Counts the bytes in, if the bound allows; frames held for a batch are sent first, not counted against the client.</summary>
    private bool Reserve(int footprint)
    {
        if (Interlocked.Add(ref _bytes, footprint) <= maxBytes) return true;
        Interlocked.Add(ref _bytes, -footprint);
        if (Volatile.Read(ref _held) == 0) return false;
        StartSender();   // what is held went nowhere yet: a socket that takes it at once makes room
        if (Interlocked.Add(ref _bytes, footprint) <= maxBytes) return true;
        Interlocked.Add(ref _bytes, -footprint);
        return false;
    }

    /// <summary>Takes the frame whatever the bound; only for replies to the client's own messages.</summary>
    public void EnqueueReply(OutboundFrame frame)
    {
        if (_completing || _broken)
        {
            frame.Release();
            return;
        }
        Interlocked.Add(ref _bytes, frame.Footprint);
        Push(new Queued(frame, Reply: true));
        Send();
    }

    /// <summary>
    /// Sends what is queued (with <paramref name="dropSubscriptionTraffic"/>, only the replies: OK, CLOSED, NOTICE),
    /// then the close frame with this status; later frames are dropped.
    /// </summary>
    public void Complete(WebSocketCloseStatus status = WebSocketCloseStatus.NormalClosure, string description = "", bool dropSubscriptionTraffic = false)
    {
        if (_completing) return;
        _closeStatus = status;
        _closeDescription = description;
        _completing = true;
        if (dropSubscriptionTraffic)
        {
            lock (_gate)
            {
                var count = _frames?.Count ?? 0;
                for (var i = 0; i < count; i++)
                {
                    var queued = _frames!.Dequeue();
                    if (queued.Reply) _frames.Enqueue(queued);
                    else
                    {
                        Interlocked.Add(ref _bytes, -queued.Frame.Footprint);
                        queued.Frame.Release();
                    }
                }
            }
        }
        Send();
    }

    private readonly record struct Queued(OutboundFrame Frame, bool Reply);

    private void Push(Queued queued)
    {
        lock (_gate)
        {
            var frames = _frames ??= new Queue<Queued>(SmallQueue);
            frames.Enqueue(queued);
            if (frames.Count > LargeQueue) _grown = true;
        }
    }

    /// <summary>The next frame, if it fits in <paramref name="room"/> bytes with its header.</summary>
    private bool TryTake(out Queued queued, int room = int.MaxValue) => TryTake(out queued, out _, room);

    /// <summary>The next frame, if it fits in <paramref name="room"/> bytes with its header; <paramref name="last"/> when nothing is queued behind it.</summary>
    private bool TryTake(out Queued queued, out bool last, int room = int.MaxValue)
    {
        lock (_gate)
        {
            if (_frames is { Count: > 0 } frames && frames.Peek().Frame.Length <= room - TextFrameHeader.MaxLength)
            {
                queued = frames.Dequeue();
                last = frames.Count == 0;
                if (frames.Count == 0 && _grown)
                {
                    _frames = null;
                    _grown = false;
                }
                return true;
            }
        }
        queued = default;
        last = true;
        return false;
    }

    private bool IsEmpty
    {
        get { lock (_gate) return _frames is not { Count: > 0 }; }
    }

    private int _held;

    /// <summary>
    /// Holds this queue's sends while its shard hands on a batch of deliveries, so that what the batch brings this
    /// connection goes out together at <see cref="Release"/>. False when it is held already.
    /// </summary>
    public bool Hold() => Interlocked.Exchange(ref _held, 1) == 0;

    /// <summary>Sends what queued up while held, on this thread.</summary>
    public void Release()
    {
        Interlocked.Exchange(ref _held, 0);
        Send();
    }

    private void Send()
    {
        // The fence: a frame queued by another thread while held is seen by Release's send, or this send sees the release.
        Interlocked.MemoryBarrier();
        // Held, it waits for Release, unless a send's worth is queued (less under a small bound: held bytes must stay
        // below the mark that says the client is behind).
        if (Volatile.Read(ref _held) != 0 && Interlocked.Read(ref _bytes) < Math.Min(SendBytes, maxBytes / 8)) return;
        StartSender();
    }

    private void StartSender()
    {
        if (Interlocked.CompareExchange(ref _sending, 1, 0) == 0) _ = SendQueuedAsync();
    }

    private async Task SendQueuedAsync()
    {
        try
        {
            while (true)
            {
                if (direct is not null) await SendFramedAsync(direct);
                else while (TryTake(out var queued))
                {
                    var frame = queued.Frame;
                    try
                    {
                        var send = socket.SendAsync(frame.Memory, WebSocketMessageType.Text, true, CancellationToken.None);
                        if (!send.IsCompletedSuccessfully) await send;
                        sent?.Invoke(frame.Memory.Length);
                    }
                    finally
                    {
                        frame.Release();
                        Taken(frame.Footprint);
                    }
                }
                if (_completing)
                {
                    await CloseAsync();
                    return;   // _sending stays set: nothing is sent after the close frame
                }
                Volatile.Write(ref _sending, 0);
                if (IsEmpty && !_completing) return;
                if (Interlocked.CompareExchange(ref _sending, 1, 0) != 0) return;   // another thread took over
            }
        }
        catch (Exception ex) when (ex is WebSocketException or IOException or ObjectDisposedException or OperationCanceledException)
        {
            Break();
        }
    }

    /// <summary>
    /// Everything queued, framed here, as many frames to a send as fit in <see cref="SendBytes"/>. Each frame's
    /// bytes stay counted until the send that carries it completes, as one sent alone would.
    /// </summary>
    private async Task SendFramedAsync(TransportStream transport)
    {
        while (TryTake(out var first, out var alone))
        {
            if (alone)
            {
                await SendAloneAsync(transport, first.Frame);
                continue;
            }
            var buffer = ArrayPool<byte>.Shared.Rent(Math.Max(SendBytes, first.Frame.Length + TextFrameHeader.MaxLength));
            var length = 0;
            var footprint = 0;
            var payload = 0;
            try
            {
                var queued = first;
                do
                {
                    var frame = queued.Frame;
                    length += TextFrameHeader.Write(buffer.AsSpan(length), frame.Length);
                    frame.Memory.Span.CopyTo(buffer.AsSpan(length));
                    length += frame.Length;
                    payload += frame.Length;
                    footprint += frame.Footprint;
                    frame.Release();
                }
                while (TryTake(out queued, buffer.Length - length));
                await transport.SendFramesAsync(buffer.AsMemory(0, length), socket);
                sent?.Invoke(payload);
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
                Taken(footprint);
            }
        }
    }

    /// <summary>
    /// A frame with nothing queued behind it (a live event, most often) goes from its own buffer: its header is written
    /// in the room kept ahead of it, and nothing is copied.
    /// </summary>
    private async Task SendAloneAsync(TransportStream transport, OutboundFrame frame)
    {
        try
        {
            var header = TextFrameHeader.Length(frame.Length);
            var start = frame.Start - header;
            TextFrameHeader.Write(frame.Buffer.AsSpan(start), frame.Length);
            await transport.SendFramesAsync(frame.Buffer.AsMemory(start, header + frame.Length), socket);
            sent?.Invoke(frame.Length);
        }
        finally
        {
            frame.Release();
            Taken(frame.Footprint);
        }
    }

    /// <summary>Counts sent bytes out; tells the grain once a queue that was behind is nearly empty again.</summary>
    private void Taken(int footprint)
    {
        var left = Interlocked.Add(ref _bytes, -footprint);
        if (left < _drainedBytes && Volatile.Read(ref _behind) == 1 && Interlocked.Exchange(ref _behind, 0) == 1) drained?.Invoke(Volatile.Read(ref _episode));
    }

    private async Task CloseAsync()
    {
        try
        {
            if (socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                await socket.CloseOutputAsync(_closeStatus, _closeDescription, timeout.Token);
            }
        }
        finally
        {
            Break();
        }
    }

    /// <summary>The socket is closed or failed: release whatever is still queued; no more sends.</summary>
    private void Break()
    {
        _broken = true;
        Volatile.Write(ref _sending, 1);
        while (TryTake(out var queued)) queued.Frame.Release();
        _closed.TrySetResult();
    }
}
