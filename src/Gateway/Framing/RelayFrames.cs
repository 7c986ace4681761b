using NostrRelay.Protocol;

namespace NostrRelay.Framing;

/// <summary>The NIP-01 relay-to-client messages, written straight into pooled buffers.</summary>
internal static class RelayFrames
{
    /// <summary><c>["EVENT",sub,event]</c>: the event's stored bytes go in as they are, never re-serialized.</summary>
    public static OutboundFrame Event(string subscriptionId, byte[] eventJson)
    {
        var frame = new FrameBuilder(eventJson.Length + subscriptionId.Length + 16);
        JsonText.WriteRaw(frame, "[\"EVENT\","u8);
        JsonText.WriteString(frame, subscriptionId);
        JsonText.WriteByte(frame, (byte)',');
        JsonText.WriteRaw(frame, eventJson);
        JsonText.WriteByte(frame, (byte)']');
        return frame.ToFrame();
    }

    /// <summary><c>["OK",id,true|false,message]</c>.</summary>
    public static OutboundFrame Ok(string eventId, bool accepted, string message)
    {
        var frame = new FrameBuilder(96 + message.Length * 3);
        JsonText.WriteRaw(frame, "[\"OK\","u8);
        JsonText.WriteString(frame, eventId);
        JsonText.WriteRaw(frame, accepted ? ",true,"u8 : ",false,"u8);
        JsonText.WriteString(frame, message);
        JsonText.WriteByte(frame, (byte)']');
        return frame.ToFrame();
    }

    /// <summary><c>["EOSE",sub]</c>.</summary>
    public static OutboundFrame EndOfStoredEvents(string subscriptionId)
    {
        var frame = new FrameBuilder(subscriptionId.Length * 3 + 16);
        JsonText.WriteRaw(frame, "[\"EOSE\","u8);
        JsonText.WriteString(frame, subscriptionId);
        JsonText.WriteByte(frame, (byte)']');
        return frame.ToFrame();
    }

    /// <summary><c>["CLOSED",sub,message]</c>.</summary>
    public static OutboundFrame Closed(string subscriptionId, string message)
    {
        var frame = new FrameBuilder(subscriptionId.Length * 3 + message.Length * 3 + 24);
        JsonText.WriteRaw(frame, "[\"CLOSED\","u8);
        JsonText.WriteString(frame, subscriptionId);
        JsonText.WriteByte(frame, (byte)',');
        JsonText.WriteString(frame, message);
        JsonText.WriteByte(frame, (byte)']');
        return frame.ToFrame();
    }

    /// <summary><c>["NOTICE",message]</c>.</summary>
    public static OutboundFrame Notice(string message)
    {
        var frame = new FrameBuilder(message.Length * 3 + 16);
        JsonText.WriteRaw(frame, "[\"NOTICE\","u8);
        JsonText.WriteString(frame, message);
        JsonText.WriteByte(frame, (byte)']');
        return frame.ToFrame();
    }

    /// <summary><c>["COUNT",id,{"count":n}]</c> (NIP-45), with <c>"approximate":true</c> and the <c>hll</c> registers when there are.</summary>
    public static OutboundFrame Count(string queryId, long count, bool approximate, ReadOnlySpan<byte> hll)
    {
        var frame = new FrameBuilder(queryId.Length * 3 + 64 + hll.Length * 2 + 16);
        JsonText.WriteRaw(frame, "[\"COUNT\","u8);
        JsonText.WriteString(frame, queryId);
        JsonText.WriteRaw(frame, ",{\"count\":"u8);
        JsonText.WriteRaw(frame, System.Text.Encoding.ASCII.GetBytes(count.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        if (approximate) JsonText.WriteRaw(frame, ",\"approximate\":true"u8);
        if (hll.Length > 0)
        {
            JsonText.WriteRaw(frame, ",\"hll\":"u8);
            JsonText.WriteString(frame, Convert.ToHexStringLower(hll));
        }
        JsonText.WriteRaw(frame, "}]"u8);
        return frame.ToFrame();
    }

    /// <summary><c>["AUTH",challenge]</c> (NIP-42).</summary>
    public static OutboundFrame Auth(string challenge)
    {
        var frame = new FrameBuilder(challenge.Length + 16);
        JsonText.WriteRaw(frame, "[\"AUTH\","u8);
        JsonText.WriteString(frame, challenge);
        JsonText.WriteByte(frame, (byte)']');
        return frame.ToFrame();
    }

    /// <summary><c>["NEG-MSG",sub,hex]</c> (NIP-77): the negentropy message in lowercase hex, written straight into the frame.</summary>
    public static OutboundFrame NegentropyMessage(string subscriptionId, ReadOnlySpan<byte> message)
    {
        var frame = new FrameBuilder(subscriptionId.Length * 3 + message.Length * 2 + 24);
        JsonText.WriteRaw(frame, "[\"NEG-MSG\","u8);
        JsonText.WriteString(frame, subscriptionId);
        JsonText.WriteRaw(frame, ",\""u8);
        var hex = frame.GetSpan(message.Length * 2);
        for (var i = 0; i < message.Length; i++)
        {
            hex[2 * i] = HexDigits[message[i] >> 4];
            hex[2 * i + 1] = HexDigits[message[i] & 0xF];
        }
        frame.Advance(message.Length * 2);
        JsonText.WriteRaw(frame, "\"]"u8);
        return frame.ToFrame();
    }

    /// <summary><c>["NEG-ERR",sub,reason]</c> (NIP-77), with the most records the relay reconciles as a fourth element when given.</summary>
    public static OutboundFrame NegentropyError(string subscriptionId, string reason, long? maxRecords = null)
    {
        var frame = new FrameBuilder(subscriptionId.Length * 3 + reason.Length * 3 + 48);
        JsonText.WriteRaw(frame, "[\"NEG-ERR\","u8);
        JsonText.WriteString(frame, subscriptionId);
        JsonText.WriteByte(frame, (byte)',');
        JsonText.WriteString(frame, reason);
        if (maxRecords is { } max)
        {
            JsonText.WriteByte(frame, (byte)',');
            JsonText.WriteRaw(frame, System.Text.Encoding.ASCII.GetBytes(max.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        }
        JsonText.WriteByte(frame, (byte)']');
        return frame.ToFrame();
    }

    private static ReadOnlySpan<byte> HexDigits => "0123456789abcdef"u8;
}
