using System.Buffers;

namespace NostrRelay.Framing;

/// <summary>
/// An <see cref="IBufferWriter{T}"/> over pooled arrays; <see cref="ToFrame"/> hands the array to the frame. Room for
/// the longest WebSocket frame header is kept ahead of what is written (<see cref="OutboundFrame.Start"/>).
/// </summary>
internal sealed class FrameBuilder(int initialSize = 256) : IBufferWriter<byte>
{
    private const int HeaderRoom = TextFrameHeader.MaxLength;
    private byte[] _buffer = ArrayPool<byte>.Shared.Rent(initialSize + HeaderRoom);
    private int _length = HeaderRoom;

    public void Advance(int count) => _length += count;

    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _buffer.AsMemory(_length);
    }

    public Span<byte> GetSpan(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _buffer.AsSpan(_length);
    }

    private void Ensure(int sizeHint)
    {
        var needed = _length + Math.Max(sizeHint, 1);
        if (needed <= _buffer.Length) return;
        var bigger = ArrayPool<byte>.Shared.Rent(Math.Max(needed, _buffer.Length * 2));
        _buffer.AsSpan(0, _length).CopyTo(bigger);
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = bigger;
    }

    public OutboundFrame ToFrame() => new(_buffer, HeaderRoom, _length - HeaderRoom);
}
