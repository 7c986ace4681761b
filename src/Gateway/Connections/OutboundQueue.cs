using System.Threading.Channels;
using NostrRelay.Framing;

namespace NostrRelay.Connections;

/// <summary>
/// Frames waiting for one connection's socket, bounded in bytes. Subscription traffic that would pass the
/// bound is refused (the caller closes that subscription); replies the client asked for (OK, CLOSED,
/// NOTICE) are always taken, since their number is bounded by what the client has in flight.
/// </summary>
internal sealed class OutboundQueue(long maxBytes)
{
    private readonly Channel<OutboundFrame> _frames = Channel.CreateUnbounded<OutboundFrame>(new UnboundedChannelOptions { SingleReader = true });
    private long _bytes;

    public long QueuedBytes => Volatile.Read(ref _bytes);

    /// <summary>False (and the frame released) when the bound would be passed or the connection is closing.</summary>
    public bool TryEnqueue(OutboundFrame frame)
    {
        if (Interlocked.Add(ref _bytes, frame.Length) > maxBytes)
        {
            Interlocked.Add(ref _bytes, -frame.Length);
            frame.Release();
            return false;
        }
        if (_frames.Writer.TryWrite(frame)) return true;
        Interlocked.Add(ref _bytes, -frame.Length);
        frame.Release();
        return false;
    }

    /// <summary>Takes the frame whatever the bound; only for replies to the client's own messages.</summary>
    public void EnqueueReply(OutboundFrame frame)
    {
        Interlocked.Add(ref _bytes, frame.Length);
        if (!_frames.Writer.TryWrite(frame))
        {
            Interlocked.Add(ref _bytes, -frame.Length);
            frame.Release();
        }
    }

    public ChannelReader<OutboundFrame> Reader => _frames.Reader;

    public void Sent(OutboundFrame frame)
    {
        Interlocked.Add(ref _bytes, -frame.Length);
        frame.Release();
    }

    public void Complete() => _frames.Writer.TryComplete();
}
