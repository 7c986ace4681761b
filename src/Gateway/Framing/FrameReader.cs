using System.Text.Json;
using NostrRelay.Hosting;
using NostrRelay.Protocol;

namespace NostrRelay.Framing;

/// <summary>
/// Reads client messages straight from the UTF-8 frame with <see cref="Utf8JsonReader"/>. Every method
/// expects the reader positioned on the message type string and returns errors as NIP-01 reasons.
/// </summary>
internal static class FrameReader
{
    /// <summary>An EVENT is 4 levels deep (message, event, tags, tag); anything deeper is refused while reading.</summary>
    public static readonly JsonReaderOptions Options = new() { MaxDepth = 8, CommentHandling = JsonCommentHandling.Disallow };

    public static ClientFrameKind ReadKind(ref Utf8JsonReader reader)
    {
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartArray) return ClientFrameKind.Malformed;
        if (!reader.Read() || reader.TokenType != JsonTokenType.String) return ClientFrameKind.Malformed;
        return reader.ValueTextEquals("EVENT"u8) ? ClientFrameKind.Event
            : reader.ValueTextEquals("REQ"u8) ? ClientFrameKind.Req
            : reader.ValueTextEquals("CLOSE"u8) ? ClientFrameKind.Close
            : reader.ValueTextEquals("COUNT"u8) ? ClientFrameKind.Count
            : reader.ValueTextEquals("AUTH"u8) ? ClientFrameKind.Auth
            : reader.ValueTextEquals("NEG-MSG"u8) ? ClientFrameKind.NegentropyMessage
            : reader.ValueTextEquals("NEG-OPEN"u8) ? ClientFrameKind.NegentropyOpen
            : reader.ValueTextEquals("NEG-CLOSE"u8) ? ClientFrameKind.NegentropyClose
            : ClientFrameKind.Unknown;
    }

    /// <summary><c>["EVENT", event]</c>. A bad event's OK is addressed by <see cref="PeekEventId"/>.</summary>
    public static bool TryReadEvent(ref Utf8JsonReader reader, RelayLimits limits, out NostrEvent? evt, out string? error)
    {
        evt = null;
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) { error = "invalid: EVENT needs an event object"; return false; }
        if (!EventReader.TryRead(ref reader, out evt, out error, limits.MaxEventTags)) return false;
        if (!reader.Read() || reader.TokenType != JsonTokenType.EndArray) { evt = null; error = "invalid: EVENT takes exactly one event"; return false; }
        return true;
    }

    /// <summary>Finds a readable "id" in an EVENT frame that failed to parse, to address the OK to it.</summary>
    public static string? PeekEventId(ReadOnlySpan<byte> frame)
    {
        try
        {
            var reader = new Utf8JsonReader(frame, Options);
            if (ReadKind(ref reader) != ClientFrameKind.Event) return null;
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) return null;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isId = reader.ValueTextEquals("id"u8);
                reader.Read();
                if (isId) return EventReader.TryReadHex(ref reader, 64, out var id) ? id : null;
                reader.Skip();
            }
        }
        catch (JsonException)
        {
        }
        return null;
    }

    /// <summary>Reads a subscription id: a non-empty string of at most the configured length (NIP-01).</summary>
    public static bool TryReadSubscriptionId(ref Utf8JsonReader reader, RelayLimits limits, out string? subscriptionId, out string? error)
    {
        subscriptionId = null;
        if (!reader.Read() || reader.TokenType != JsonTokenType.String) { error = "invalid: subscription id must be a string"; return false; }
        string? value;
        try { value = reader.GetString(); }
        catch (InvalidOperationException) { error = "invalid: subscription id is not valid text"; return false; }
        if (string.IsNullOrEmpty(value)) { error = "invalid: subscription id must not be empty"; return false; }
        subscriptionId = value;
        if (value.Length > limits.MaxSubscriptionIdLength)
        {
            error = $"invalid: subscription id longer than {limits.MaxSubscriptionIdLength} characters";
            return false;
        }
        error = null;
        return true;
    }

    /// <summary>The filters after a REQ's subscription id, with default_limit and max_limit applied.</summary>
    public static bool TryReadFilters(ref Utf8JsonReader reader, RelayLimits limits, out Filter[]? filters, out string? error)
    {
        filters = null;
        var list = new List<Filter>(2);
        while (true)
        {
            if (!reader.Read()) { error = "invalid: truncated REQ"; return false; }
            if (reader.TokenType == JsonTokenType.EndArray) break;
            if (list.Count >= limits.MaxFilters) { error = $"invalid: too many filters (max {limits.MaxFilters})"; return false; }
            if (!TryReadFilter(ref reader, limits, out var filter, out error)) return false;
            list.Add(filter!);
        }
        if (list.Count == 0) { error = "invalid: REQ needs at least one filter"; return false; }
        filters = list.ToArray();
        error = null;
        return true;
    }

    /// <summary>NIP-50 queries are a few words; a longer one is refused rather than parsed.</summary>
    private const int MaxSearchBytes = 512;

    /// <param name="boundedLimit">
    /// True for a REQ or COUNT: a filter's limit is lowered to <see cref="RelayLimits.MaxLimit"/>, and one that names none
    /// gets <see cref="RelayLimits.DefaultLimit"/>. False for NIP-77, which reconciles every match: only a limit the
    /// client wrote applies.
    /// </param>
    public static bool TryReadFilter(ref Utf8JsonReader reader, RelayLimits limits, out Filter? filter, out string? error, bool boundedLimit = true)
    {
        filter = null;
        if (reader.TokenType != JsonTokenType.StartObject) { error = "invalid: a filter must be a JSON object"; return false; }
        string[]? ids = null, authors = null;
        int[]? kinds = null;
        long? since = null, until = null;
        long? limit = null;
        string? search = null;
        List<TagFilter>? tags = null;
        var values = 0;   // across every list of the filter, bounded by MaxFilterValues
        var maxValues = limits.MaxFilterValues;
        while (true)
        {
            if (!reader.Read()) { error = "invalid: truncated filter"; return false; }
            if (reader.TokenType == JsonTokenType.EndObject) break;
            if (reader.ValueTextEquals("ids"u8))
            {
                if (ids is not null || !TryReadHexList(ref reader, ref values, maxValues, out ids)) { error = TooMany(values, maxValues) ?? "invalid: ids must be a list of 64-character lowercase hex ids"; return false; }
            }
            else if (reader.ValueTextEquals("authors"u8))
            {
                if (authors is not null || !TryReadHexList(ref reader, ref values, maxValues, out authors)) { error = TooMany(values, maxValues) ?? "invalid: authors must be a list of 64-character lowercase hex pubkeys"; return false; }
            }
            else if (reader.ValueTextEquals("kinds"u8))
            {
                if (kinds is not null || !TryReadKinds(ref reader, ref values, maxValues, out kinds)) { error = TooMany(values, maxValues) ?? "invalid: kinds must be a list of integers between 0 and 65535"; return false; }
            }
            else if (reader.ValueTextEquals("since"u8))
            {
                if (since is not null || !TryReadTimestamp(ref reader, out since)) { error = "invalid: since must be a non-negative integer"; return false; }
            }
            else if (reader.ValueTextEquals("until"u8))
            {
                if (until is not null || !TryReadTimestamp(ref reader, out until)) { error = "invalid: until must be a non-negative integer"; return false; }
            }
            else if (reader.ValueTextEquals("limit"u8))
            {
                if (limit is not null || !TryReadTimestamp(ref reader, out limit)) { error = "invalid: limit must be a non-negative integer"; return false; }
            }
            else if (reader.ValueTextEquals("search"u8))
            {
                if (search is not null || !reader.Read() || reader.TokenType != JsonTokenType.String) { error = "invalid: search must be a string"; return false; }
                if (reader.ValueSpan.Length > MaxSearchBytes) { error = $"invalid: search is longer than {MaxSearchBytes} bytes"; return false; }
                search = reader.GetString();
            }
            else if (reader.ValueSpan.Length == 2 && reader.ValueSpan[0] == (byte)'#' && IsAsciiLetter(reader.ValueSpan[1]))
            {
                var name = (char)reader.ValueSpan[1];
                if (tags is not null && tags.Exists(t => t.Name == name)) { error = $"invalid: #{name} appears twice"; return false; }
                if (!TryReadStringList(ref reader, ref values, maxValues, out var tagValues)) { error = TooMany(values, maxValues) ?? $"invalid: #{name} must be a list of strings"; return false; }
                (tags ??= []).Add(new TagFilter(name, tagValues!));
            }
            else
            {
                error = "invalid: unknown filter field " + reader.GetString();
                return false;
            }
        }
        int? effectiveLimit = boundedLimit ? (int)Math.Min(limit ?? limits.DefaultLimit, limits.MaxLimit)
            : limit is { } written ? (int)Math.Min(written, int.MaxValue) : null;
        filter = new Filter { Ids = ids, Authors = authors, Kinds = kinds, Tags = tags?.ToArray(), Since = since, Until = until, Limit = effectiveLimit, Search = search };
        error = null;
        return true;
    }

    /// <summary>The reason when a list stopped at the bound rather than at a bad value.</summary>
    private static string? TooMany(int values, int maxValues) =>
        values > maxValues ? $"invalid: filter has more than {maxValues} values" : null;

    private static bool IsAsciiLetter(byte b) => (b >= (byte)'a' && b <= (byte)'z') || (b >= (byte)'A' && b <= (byte)'Z');

    private static bool TryReadHexList(ref Utf8JsonReader reader, ref int count, int maxCount, out string[]? values)
    {
        values = null;
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartArray) return false;
        var list = new List<string>();
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (++count > maxCount || !EventReader.TryReadHex(ref reader, 64, out var value)) return false;
            list.Add(value!);
        }
        values = list.ToArray();
        return true;
    }

    private static bool TryReadStringList(ref Utf8JsonReader reader, ref int count, int maxCount, out string[]? values)
    {
        values = null;
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartArray) return false;
        var list = new List<string>();
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (++count > maxCount || reader.TokenType != JsonTokenType.String) return false;
            try { list.Add(reader.GetString()!); }
            catch (InvalidOperationException) { return false; }
        }
        values = list.ToArray();
        return true;
    }

    private static bool TryReadKinds(ref Utf8JsonReader reader, ref int count, int maxCount, out int[]? kinds)
    {
        kinds = null;
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartArray) return false;
        var list = new List<int>();
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (++count > maxCount || reader.TokenType != JsonTokenType.Number
                || !reader.TryGetInt32(out var kind) || kind < 0 || kind > EventKind.MaxKind) return false;
            list.Add(kind);
        }
        kinds = list.ToArray();
        return true;
    }

    private static bool TryReadTimestamp(ref Utf8JsonReader reader, out long? value)
    {
        value = null;
        if (!reader.Read() || reader.TokenType != JsonTokenType.Number) return false;
        if (reader.TryGetInt64(out var v))
        {
            if (v < 0) return false;
            value = v;
            return true;
        }
        // Integers in exponent form (1e3), or too large for 64 bits, which to a client means "no bound".
        if (reader.TryGetDouble(out var d) && d > 0 && Math.Floor(d) == d)
        {
            value = d >= long.MaxValue ? long.MaxValue : (long)d;
            return true;
        }
        return false;
    }
}
