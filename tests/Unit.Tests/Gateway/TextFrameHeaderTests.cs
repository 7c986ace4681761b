using System.Net.WebSockets;
using NostrRelay.Framing;

namespace NostrRelay.Unit.Tests.Gateway;

/// <summary>
/// Frames the relay writes itself, several to a send, read back by .NET's own client WebSocket: every length
/// encoding (7-bit, 16-bit, 64-bit) gives the message whole, in order.
/// </summary>
public sealed class TextFrameHeaderTests
{
    [Fact]
    public async Task frames_of_every_length_encoding_written_back_to_back_read_as_the_same_messages()
    {
        int[] lengths = [0, 1, 125, 126, 127, 65_535, 65_536, 200_000];
        var messages = lengths.Select(n => Enumerable.Range(0, n).Select(i => (byte)('a' + (i + n) % 26)).ToArray()).ToArray();
        var wire = new MemoryStream();
        foreach (var message in messages)
        {
            var header = new byte[TextFrameHeader.MaxLength];
            wire.Write(header, 0, TextFrameHeader.Write(header, message.Length));
            wire.Write(message);
        }
        wire.Position = 0;

        using var client = WebSocket.CreateFromStream(wire, new WebSocketCreationOptions { IsServer = false });
        var buffer = new byte[256 * 1024];
        foreach (var expected in messages)
        {
            var received = 0;
            ValueWebSocketReceiveResult result;
            do
            {
                result = await client.ReceiveAsync(buffer.AsMemory(received), CancellationToken.None);
                received += result.Count;
            }
            while (!result.EndOfMessage);
            Assert.Equal(WebSocketMessageType.Text, result.MessageType);
            Assert.Equal(expected, buffer.AsSpan(0, received).ToArray());
        }
    }

    [Theory]
    [InlineData(125, 2)]
    [InlineData(126, 4)]
    [InlineData(65_535, 4)]
    [InlineData(65_536, 10)]
    public void the_header_is_as_long_as_the_payload_length_needs(int payload, int headerLength)
    {
        Assert.Equal(headerLength, TextFrameHeader.Write(new byte[TextFrameHeader.MaxLength], payload));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(125)]
    [InlineData(126)]
    [InlineData(65_535)]
    [InlineData(65_536)]
    [InlineData(1_000_000)]
    public void the_length_it_tells_is_the_length_it_writes(int payloadLength)
    {
        var header = new byte[TextFrameHeader.MaxLength];
        Assert.Equal(TextFrameHeader.Write(header, payloadLength), TextFrameHeader.Length(payloadLength));
    }

    [Fact]
    public void a_built_frame_keeps_room_for_its_header_ahead_of_the_message()
    {
        var frame = RelayFrames.EndOfStoredEvents("sub");
        try
        {
            Assert.True(frame.Start >= TextFrameHeader.MaxLength);
            Assert.Equal("[\"EOSE\",\"sub\"]", System.Text.Encoding.UTF8.GetString(frame.Memory.Span));
        }
        finally
        {
            frame.Release();
        }
    }
}
