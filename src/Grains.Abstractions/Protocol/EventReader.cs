using System.Buffers;
using System.Text.Json;

namespace NostrRelay.Protocol;

/// <summary>
/// Reads an event object with <see cref="Utf8JsonReader"/> and checks its shape (NIP-01): 64-hex id and
/// pubkey, 128-hex sig, integer created_at, kind 0–65535, tags as arrays of strings, string content.
/// It does not check the id or signature: <see cref="NostrRelay.Crypto.EventVerifier"/> does.
/// </summary>
public static class EventReader
{
    /// <summary>Reads the object the reader is positioned on (its StartObject token). Errors are "invalid: ..." reasons.</summary>
    public static bool TryRead(ref Utf8JsonReader reader, out NostrEvent? evt, out string? error, int maxTags = int.MaxValue) =>
        TryRead(ref reader, out evt, out error, maxTags, serialized: null);

    private static bool TryRead(ref Utf8JsonReader reader, out NostrEvent? evt, out string? error, int maxTags, byte[]? serialized)
    {
        evt = null;
        string? id = null, pubkey = null, sig = null, content = null;
        long? createdAt = null;
        int? kind = null;
        string[][]? tags = null;
        if (reader.TokenType != JsonTokenType.StartObject) { error = "invalid: event must be a JSON object"; return false; }
        while (true)
        {
            if (!reader.Read()) { error = "invalid: truncated event"; return false; }
            if (reader.TokenType == JsonTokenType.EndObject) break;
            if (reader.TokenType != JsonTokenType.PropertyName) { error = "invalid: malformed event"; return false; }
            var field = Field(ref reader);
            if (!reader.Read()) { error = "invalid: truncated event"; return false; }
            switch (field)
            {
                case EventField.Id:
                    if (id is not null) { error = "invalid: duplicate id field"; return false; }
                    if (!TryReadHex(ref reader, 64, out id)) { error = "invalid: id must be 64 lowercase hex characters"; return false; }
                    break;
                case EventField.Pubkey:
                    if (pubkey is not null) { error = "invalid: duplicate pubkey field"; return false; }
                    if (!TryReadHex(ref reader, 64, out pubkey)) { error = "invalid: pubkey must be 64 lowercase hex characters"; return false; }
                    break;
                case EventField.Sig:
                    if (sig is not null) { error = "invalid: duplicate sig field"; return false; }
                    if (!TryReadHex(ref reader, 128, out sig)) { error = "invalid: sig must be 128 lowercase hex characters"; return false; }
                    break;
                case EventField.CreatedAt:
                    if (createdAt is not null) { error = "invalid: duplicate created_at field"; return false; }
                    if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt64(out var ts) || ts < 0)
                    { error = "invalid: created_at must be a non-negative integer"; return false; }
                    createdAt = ts;
                    break;
                case EventField.Kind:
                    if (kind is not null) { error = "invalid: duplicate kind field"; return false; }
                    if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt32(out var k) || k < 0 || k > EventKind.MaxKind)
                    { error = "invalid: kind must be an integer between 0 and 65535"; return false; }
                    kind = k;
                    break;
                case EventField.Content:
                    if (content is not null) { error = "invalid: duplicate content field"; return false; }
                    if (reader.TokenType != JsonTokenType.String) { error = "invalid: content must be a string"; return false; }
                    if (!TryGetString(ref reader, out content)) { error = "invalid: content is not valid UTF-16 text"; return false; }
                    break;
                case EventField.Tags:
                    if (tags is not null) { error = "invalid: duplicate tags field"; return false; }
                    if (!TryReadTags(ref reader, maxTags, out tags, out error)) return false;
                    break;
                default:
                    reader.Skip();   // NIP-01 names seven fields; unknown ones are ignored, not stored.
                    break;
            }
        }
        if (id is null || pubkey is null || sig is null || createdAt is null || kind is null || tags is null || content is null)
        {
            error = "invalid: event is missing " + (id is null ? "id" : pubkey is null ? "pubkey" : createdAt is null ? "created_at"
                : kind is null ? "kind" : tags is null ? "tags" : content is null ? "content" : "sig");
            return false;
        }
        evt = serialized is null
            ? CanonicalJson.CreateEvent(id, pubkey, createdAt.Value, kind.Value, tags, content, sig)
            : new NostrEvent(id, pubkey, createdAt.Value, kind.Value, tags, content, sig, serialized);
        error = null;
        return true;
    }

    /// <summary>
    /// An event a store gave back. Its bytes are the relay's own serialization, written once on arrival, so they
    /// are kept as they are and sent as they are: no second serialization. Only its id and created_at are read
    /// now; the other fields when first asked for (<see cref="NostrEvent"/>).
    /// </summary>
    public static NostrEvent ParseStored(byte[] json) => NostrEvent.FromStored(json);

    /// <summary>
    /// An event a store gave back, every field read now: for a store's writer, which must know the bytes read as an
    /// event before it changes anything (a store that collects its changes cannot take half of them back).
    /// </summary>
    public static NostrEvent ParseStoredWhole(byte[] json) => ParseSerialized(json);

    /// <summary>Reads every field of the relay's serialization of an event, keeping the bytes; throws <see cref="FormatException"/>.</summary>
    internal static NostrEvent ParseSerialized(byte[] json)
    {
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = 8 });
        string? error = "invalid: empty event";
        if (!reader.Read() || !TryRead(ref reader, out var evt, out error, int.MaxValue, json)) throw new FormatException(error);
        return evt!;
    }

    /// <summary>Parses an imported event (a whole JSON document) and serializes it in the relay's form.</summary>
    public static NostrEvent Parse(ReadOnlySpan<byte> json)
    {
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = 8 });
        reader.Read();
        if (!TryRead(ref reader, out var evt, out var error)) throw new FormatException(error);
        return evt!;
    }

    private enum EventField { Other, Id, Pubkey, CreatedAt, Kind, Tags, Content, Sig }

    private static EventField Field(ref Utf8JsonReader reader) =>
        reader.ValueTextEquals("id"u8) ? EventField.Id
        : reader.ValueTextEquals("pubkey"u8) ? EventField.Pubkey
        : reader.ValueTextEquals("created_at"u8) ? EventField.CreatedAt
        : reader.ValueTextEquals("kind"u8) ? EventField.Kind
        : reader.ValueTextEquals("tags"u8) ? EventField.Tags
        : reader.ValueTextEquals("content"u8) ? EventField.Content
        : reader.ValueTextEquals("sig"u8) ? EventField.Sig
        : EventField.Other;

    private static bool TryReadTags(ref Utf8JsonReader reader, int maxTags, out string[][]? tags, out string? error)
    {
        tags = null;
        if (reader.TokenType != JsonTokenType.StartArray) { error = "invalid: tags must be an array of arrays of strings"; return false; }
        var list = new List<string[]>();
        var values = new List<string>(4);
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.StartArray) { error = "invalid: each tag must be an array of strings"; return false; }
            if (list.Count >= maxTags) { error = $"invalid: too many tags (max {maxTags})"; return false; }
            values.Clear();
            while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
            {
                if (reader.TokenType != JsonTokenType.String) { error = "invalid: tag values must be strings"; return false; }
                if (!TryGetString(ref reader, out var value)) { error = "invalid: tag value is not valid UTF-16 text"; return false; }
                values.Add(value!);
            }
            list.Add(values.ToArray());
        }
        tags = list.ToArray();
        error = null;
        return true;
    }

    private static bool TryGetString(ref Utf8JsonReader reader, out string? value)
    {
        try
        {
            value = reader.GetString();
            return value is not null;
        }
        catch (InvalidOperationException)
        {
            // A lone surrogate escape (\ud800) cannot become a .NET string we could re-serialize faithfully.
            value = null;
            return false;
        }
    }

    private const int MaxHexLength = 128;   // a sig; ids and pubkeys are 64

    /// <summary>Reads a string token of exactly <paramref name="length"/> lowercase hex characters.</summary>
    public static bool TryReadHex(ref Utf8JsonReader reader, int length, out string? value)
    {
        value = null;
        if (reader.TokenType != JsonTokenType.String || reader.ValueIsEscaped) return false;
        // A value that straddles buffer segments (a reader over a ReadOnlySequence) is only in ValueSequence.
        Span<byte> joined = stackalloc byte[MaxHexLength];
        scoped ReadOnlySpan<byte> span;
        if (reader.HasValueSequence)
        {
            var sequence = reader.ValueSequence;
            if (sequence.Length != length) return false;
            if (length > MaxHexLength) span = sequence.ToArray();
            else
            {
                sequence.CopyTo(joined);
                span = joined[..length];
            }
        }
        else span = reader.ValueSpan;
        if (span.Length != length || !Hex.IsLowerHex(span)) return false;
        value = System.Text.Encoding.ASCII.GetString(span);
        return true;
    }
}
