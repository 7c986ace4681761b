using System.Buffers.Text;

namespace NostrRelay.Protocol;

/// <summary>
/// Where the id, created_at and kind sit in the relay's own serialization of an event
/// (<see cref="CanonicalJson.SerializeEvent"/>): <c>{"id":"</c>, 64 hex digits, <c>","pubkey":"</c>, 64 hex digits,
/// <c>","created_at":</c>, the digits, <c>,"kind":</c>, the digits, <c>,"tags":</c>. A stored event gives all three
/// without being parsed.
/// </summary>
internal static class StoredLayout
{
    private const int IdAt = 7;                     // {"id":"
    private const int PubkeyAt = IdAt + 64 + 12;    // ","pubkey":"
    private const int CreatedAtAt = PubkeyAt + 64 + 15;   // ","created_at":

    /// <summary>False when the bytes are not in that layout (then they must be read whole).</summary>
    public static bool TryReadHead(ReadOnlySpan<byte> json, out string? id, out long createdAt, out int kind)
    {
        id = null;
        createdAt = 0;
        kind = 0;
        if (json.Length < CreatedAtAt + 2 || json[^1] != (byte)'}'
            || !json.StartsWith("{\"id\":\""u8)
            || !json[(IdAt + 64)..].StartsWith("\",\"pubkey\":\""u8)
            || !json[(PubkeyAt + 64)..].StartsWith("\",\"created_at\":\""u8[..^1]))
            return false;
        var hex = json.Slice(IdAt, 64);
        if (hex.IndexOfAnyExcept(LowerHex) >= 0) return false;
        if (!Utf8Parser.TryParse(json[CreatedAtAt..], out createdAt, out var digits) || digits == 0 || createdAt < 0
            || !json[(CreatedAtAt + digits)..].StartsWith(",\"kind\":"u8))
            return false;
        var kindAt = CreatedAtAt + digits + 8;
        if (!Utf8Parser.TryParse(json[kindAt..], out kind, out digits) || digits == 0 || kind is < 0 or > EventKind.MaxKind
            || !json[(kindAt + digits)..].StartsWith(",\"tags\":"u8))
            return false;
        id = System.Text.Encoding.ASCII.GetString(hex);
        return true;
    }

    private static readonly System.Buffers.SearchValues<byte> LowerHex = System.Buffers.SearchValues.Create("0123456789abcdef"u8);
}
