using System.Buffers;

namespace NostrRelay.Sync;

/// <summary>
/// Writes one negentropy message: varints (base 128, most significant digit first) and bounds, whose timestamps are
/// written as the difference from the previous one in the message (plus one; zero is infinity): the caller keeps that
/// previous timestamp, since one message is written through several writers.
/// </summary>
internal sealed class NegentropyWriter
{
    public const int MaxVarintLength = 10;

    private readonly ArrayBufferWriter<byte> _buffer = new(256);

    public int Length => _buffer.WrittenCount;

    public ReadOnlySpan<byte> Written => _buffer.WrittenSpan;

    public void WriteByte(byte value)
    {
        _buffer.GetSpan(1)[0] = value;
        _buffer.Advance(1);
    }

    public void Bytes(ReadOnlySpan<byte> bytes) => _buffer.Write(bytes);

    public void Varint(ulong value) => _buffer.Advance(WriteVarint(_buffer.GetSpan(MaxVarintLength), value));

    /// <param name="lastTimestamp">The message's previous bound's timestamp (0 at its start), updated.</param>
    public void Bound(in NegentropyBound bound, ref ulong lastTimestamp)
    {
        var timestamp = bound.Timestamp;
        if (timestamp == ulong.MaxValue)
        {
            lastTimestamp = ulong.MaxValue;
            Varint(0);
        }
        else
        {
            Varint(timestamp - lastTimestamp + 1);
            lastTimestamp = timestamp;
        }
        Varint((ulong)bound.PrefixLength);
        Bytes(bound.Prefix);
    }

    /// <summary>Appends another writer's bytes (a range built aside, kept once it fits the frame).</summary>
    public void Append(NegentropyWriter other) => _buffer.Write(other.Written);

    public void Clear() => _buffer.ResetWrittenCount();

    public byte[] ToArray() => _buffer.WrittenSpan.ToArray();

    /// <returns>The bytes written.</returns>
    public static int WriteVarint(Span<byte> destination, ulong value)
    {
        Span<byte> digits = stackalloc byte[MaxVarintLength];
        var count = 0;
        do
        {
            digits[count++] = (byte)(value & 0x7F);
            value >>= 7;
        }
        while (value != 0);
        for (var i = 0; i < count; i++)
            destination[i] = (byte)(digits[count - 1 - i] | (i < count - 1 ? 0x80 : 0));
        return count;
    }
}
