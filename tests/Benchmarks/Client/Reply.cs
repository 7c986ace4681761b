using System.Text.Json;

namespace NostrRelay.Benchmarks.Client;

/// <summary>
/// A relay-to-client frame, read only as far as a benchmark needs: the type, the subscription id, the event
/// id (an EVENT's is the first field the relay writes) and OK's flag. Strings that would need allocating
/// (messages) are read only for OK false, CLOSED and NOTICE, which a clean run does not see.
/// </summary>
internal readonly ref struct Reply
{
    private static readonly JsonReaderOptions Options = new() { MaxDepth = 8 };

    public ReplyKind Kind { get; private init; }

    /// <summary>EVENT, EOSE and CLOSED: the subscription id as it was sent (raw JSON string content).</summary>
    public ReadOnlySpan<byte> SubscriptionId { get; private init; }

    /// <summary>EVENT and OK: the event id's hex.</summary>
    public ReadOnlySpan<byte> EventId { get; private init; }

    /// <summary>OK: true or false.</summary>
    public bool Accepted { get; private init; }

    /// <summary>OK false, CLOSED and NOTICE: the relay's reason.</summary>
    public string? Message { get; private init; }

    /// <summary>NIP-42: the relay's AUTH challenge, sent first on every connection; the bench does not authenticate.</summary>
    public static bool IsAuthChallenge(ReadOnlySpan<byte> frame) => frame.StartsWith("[\"AUTH\""u8);

    public static Reply Read(ReadOnlySpan<byte> frame)
    {
        try
        {
            var reader = new Utf8JsonReader(frame, Options);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartArray) return default;
            if (!reader.Read() || reader.TokenType != JsonTokenType.String) return default;
            if (reader.ValueTextEquals("EVENT"u8)) return ReadEvent(frame, ref reader);
            if (reader.ValueTextEquals("OK"u8)) return ReadOk(frame, ref reader);
            if (reader.ValueTextEquals("EOSE"u8))
                return new Reply { Kind = ReplyKind.EndOfStoredEvents, SubscriptionId = NextString(frame, ref reader) };
            if (reader.ValueTextEquals("CLOSED"u8))
            {
                var subscriptionId = NextString(frame, ref reader);
                return new Reply { Kind = ReplyKind.Closed, SubscriptionId = subscriptionId, Message = NextMessage(ref reader) };
            }
            if (reader.ValueTextEquals("NOTICE"u8)) return new Reply { Kind = ReplyKind.Notice, Message = NextMessage(ref reader) };
            return default;
        }
        catch (JsonException)
        {
            return default;
        }
    }

    private static Reply ReadEvent(ReadOnlySpan<byte> frame, scoped ref Utf8JsonReader reader)
    {
        var subscriptionId = NextString(frame, ref reader);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) return default;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("id"u8))
                return new Reply { Kind = ReplyKind.Event, SubscriptionId = subscriptionId, EventId = NextString(frame, ref reader) };
            reader.Read();
            reader.Skip();
        }
        return default;
    }

    private static Reply ReadOk(ReadOnlySpan<byte> frame, scoped ref Utf8JsonReader reader)
    {
        var id = NextString(frame, ref reader);
        if (!reader.Read() || reader.TokenType is not (JsonTokenType.True or JsonTokenType.False)) return default;
        var accepted = reader.TokenType == JsonTokenType.True;
        return new Reply { Kind = ReplyKind.Ok, EventId = id, Accepted = accepted, Message = accepted ? null : NextMessage(ref reader) };
    }

    /// <summary>The next string's raw content, sliced from the frame itself (the reader's own span cannot leave it).</summary>
    private static ReadOnlySpan<byte> NextString(ReadOnlySpan<byte> frame, scoped ref Utf8JsonReader reader) =>
        reader.Read() && reader.TokenType == JsonTokenType.String
            ? frame.Slice((int)reader.TokenStartIndex + 1, reader.ValueSpan.Length)
            : default;

    private static string? NextMessage(ref Utf8JsonReader reader) =>
        reader.Read() && reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
}
