using System.Text;
using System.Text.Json;

namespace NostrRelay.Testing.Hostile;

public enum ReplyType
{
    Other,
    Event,
    Ok,
    Eose,
    Closed,
    Notice,

    /// <summary>NIP-45's answer to COUNT: answers that subscription id as EOSE would.</summary>
    Count,

    /// <summary>NIP-42's challenge: sent when a connection opens and with every auth-required: refusal.</summary>
    Auth,
}

/// <summary>
/// A relay message read only as far as the hostile-traffic clients need: its type, the subscription id
/// (EVENT, EOSE, CLOSED, COUNT) or event id (OK), OK's flag and the reason of OK, CLOSED and NOTICE. An EVENT's event
/// id is read only when asked for (the honest subscriber); attackers just count them.
/// </summary>
public readonly record struct RelayReply(ReplyType Type, string? Key, bool Accepted, string? Message, string? EventId = null)
{
    private static readonly JsonReaderOptions Options = new() { MaxDepth = 16 };

    /// <summary>NIP-01's machine-readable prefixes for OK false and CLOSED ("prefix: human text").</summary>
    public static readonly string[] Prefixes = ["duplicate", "pow", "blocked", "rate-limited", "invalid", "restricted", "mute", "error", "auth-required", "unsupported"];

    /// <summary>True when <paramref name="message"/> starts with one of NIP-01's prefixes followed by ": ".</summary>
    public static bool HasPrefix(string? message)
    {
        if (string.IsNullOrEmpty(message)) return false;
        var colon = message.IndexOf(": ", StringComparison.Ordinal);
        return colon > 0 && Array.IndexOf(Prefixes, message[..colon]) >= 0;
    }

    public static RelayReply Parse(ReadOnlySpan<byte> frame, bool readEventId = false)
    {
        if (!readEventId && frame.StartsWith("[\"EVENT\""u8)) return new RelayReply(ReplyType.Event, null, false, null);
        try
        {
            var reader = new Utf8JsonReader(frame, Options);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartArray) return Unknown(frame);
            if (!reader.Read() || reader.TokenType != JsonTokenType.String) return Unknown(frame);
            if (reader.ValueTextEquals("EVENT"u8))
            {
                var subscription = NextString(ref reader);
                if (!readEventId || !reader.Read() || reader.TokenType != JsonTokenType.StartObject) return new RelayReply(ReplyType.Event, subscription, false, null);
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    if (reader.ValueTextEquals("id"u8)) return new RelayReply(ReplyType.Event, subscription, false, null, NextString(ref reader));
                    reader.Read();
                    reader.Skip();
                }
                return new RelayReply(ReplyType.Event, subscription, false, null);
            }
            if (reader.ValueTextEquals("OK"u8))
            {
                var id = NextString(ref reader);
                if (!reader.Read() || reader.TokenType is not (JsonTokenType.True or JsonTokenType.False)) return new RelayReply(ReplyType.Ok, id, false, "(no flag)");
                var accepted = reader.TokenType == JsonTokenType.True;
                return new RelayReply(ReplyType.Ok, id, accepted, NextString(ref reader));
            }
            if (reader.ValueTextEquals("EOSE"u8)) return new RelayReply(ReplyType.Eose, NextString(ref reader), false, null);
            if (reader.ValueTextEquals("COUNT"u8)) return new RelayReply(ReplyType.Count, NextString(ref reader), false, null);
            if (reader.ValueTextEquals("CLOSED"u8))
            {
                var id = NextString(ref reader);
                return new RelayReply(ReplyType.Closed, id, false, NextString(ref reader));
            }
            if (reader.ValueTextEquals("NOTICE"u8)) return new RelayReply(ReplyType.Notice, null, false, NextString(ref reader));
            if (reader.ValueTextEquals("AUTH"u8)) return new RelayReply(ReplyType.Auth, null, false, NextString(ref reader));
            return Unknown(frame);
        }
        catch (JsonException)
        {
            return Unknown(frame);
        }
    }

    /// <summary>Anything else (another message type, not JSON): its first bytes, to show what came.</summary>
    private static RelayReply Unknown(ReadOnlySpan<byte> frame) =>
        new(ReplyType.Other, null, false, Encoding.UTF8.GetString(frame[..Math.Min(frame.Length, 120)]));

    /// <summary>The next string token; a string that is not valid text (a lone surrogate escape) as its raw JSON.</summary>
    private static string? NextString(ref Utf8JsonReader reader)
    {
        if (!reader.Read() || reader.TokenType != JsonTokenType.String) return null;
        try { return reader.GetString(); }
        catch (InvalidOperationException) { return Encoding.UTF8.GetString(reader.ValueSpan); }
    }

    public override string ToString() => $"{Type} {Key} {(Type == ReplyType.Ok ? Accepted : "")} {Message}".Trim();
}
