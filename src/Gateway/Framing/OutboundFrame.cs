using System.Buffers;

namespace NostrRelay.Framing;

/// <summary>
/// One text message to send, in a buffer rented from the shared pool and returned after the send. The message starts
/// at <see cref="Start"/>: the bytes before it are free, so that a sender framing it itself can put the frame's header
/// there and send the frame from this buffer, without copying it.
/// </summary>
internal readonly struct OutboundFrame(byte[] buffer, int start, int length)
{
    public byte[] Buffer { get; } = buffer;
    public int Start { get; } = start;
    public int Length { get; } = length;
    public ReadOnlyMemory<byte> Memory => Buffer.AsMemory(Start, Length);

    /// <summary>What the frame holds in memory until it is sent: its pooled array, rounded up from its length.</summary>
    public int Footprint => Buffer.Length;

    public void Release() => ArrayPool<byte>.Shared.Return(Buffer);
}
