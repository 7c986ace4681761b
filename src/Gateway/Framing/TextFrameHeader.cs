using System.Buffers.Binary;

namespace NostrRelay.Framing;

/// <summary>
/// The header of a WebSocket text frame a server sends (RFC 6455 §5.2): final, unmasked, with the payload's length.
/// Written by the relay itself when it puts several frames into one send.
/// </summary>
internal static class TextFrameHeader
{
    /// <summary>The longest header: two bytes and a 64-bit length.</summary>
    public const int MaxLength = 10;

    /// <summary>The length of the header <see cref="Write"/> writes for a payload of <paramref name="payloadLength"/> bytes.</summary>
    public static int Length(int payloadLength) => payloadLength < 126 ? 2 : payloadLength <= ushort.MaxValue ? 4 : 10;

    /// <summary>Writes the header of a text frame of <paramref name="payloadLength"/> bytes; returns its length.</summary>
    public static int Write(Span<byte> destination, int payloadLength)
    {
        destination[0] = 0x81;   // FIN, text
        if (payloadLength < 126)
        {
            destination[1] = (byte)payloadLength;
            return 2;
        }
        if (payloadLength <= ushort.MaxValue)
        {
            destination[1] = 126;
            BinaryPrimitives.WriteUInt16BigEndian(destination[2..], (ushort)payloadLength);
            return 4;
        }
        destination[1] = 127;
        BinaryPrimitives.WriteUInt64BigEndian(destination[2..], (ulong)payloadLength);
        return 10;
    }
}
