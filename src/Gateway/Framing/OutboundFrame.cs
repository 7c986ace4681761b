using System.Buffers;

namespace NostrRelay.Framing;

/// <summary>One text message to send, in a buffer rented from the shared pool and returned after the send.</summary>
internal readonly struct OutboundFrame(byte[] buffer, int length)
{
    public byte[] Buffer { get; } = buffer;
    public int Length { get; } = length;
    public ReadOnlyMemory<byte> Memory => Buffer.AsMemory(0, Length);

    /// <summary>What the frame holds in memory until it is sent: its pooled array, rounded up from its length.</summary>
    public int Footprint => Buffer.Length;

    public void Release() => ArrayPool<byte>.Shared.Return(Buffer);
}
