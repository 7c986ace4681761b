using System.Buffers;
using System.Security.Cryptography;

namespace NostrRelay.Protocol;

/// <summary>
/// NIP-01 serializations of an event: the canonical array whose SHA-256 is the event id, and the
/// seven-field object the relay stores and sends. Both use <see cref="JsonText"/>, which matches
/// JSON.stringify byte for byte.
/// </summary>
public static class CanonicalJson
{
    [ThreadStatic] private static ArrayBufferWriter<byte>? _scratch;

    private static ArrayBufferWriter<byte> Scratch()
    {
        var buffer = _scratch ??= new ArrayBufferWriter<byte>(4096);
        buffer.ResetWrittenCount();
        return buffer;
    }

    /// <summary>Writes <c>[0,"pubkey",created_at,kind,tags,"content"]</c>.</summary>
    public static void WriteIdPayload(IBufferWriter<byte> output, string pubkey, long createdAt, int kind, string[][] tags, string content)
    {
        JsonText.WriteRaw(output, "[0,"u8);
        JsonText.WriteString(output, pubkey);
        JsonText.WriteByte(output, (byte)',');
        JsonText.WriteNumber(output, createdAt);
        JsonText.WriteByte(output, (byte)',');
        JsonText.WriteNumber(output, kind);
        JsonText.WriteByte(output, (byte)',');
        JsonText.WriteTags(output, tags);
        JsonText.WriteByte(output, (byte)',');
        JsonText.WriteString(output, content);
        JsonText.WriteByte(output, (byte)']');
    }

    /// <summary>SHA-256 of the canonical serialization: the 32 bytes an event id must spell in hex.</summary>
    public static void ComputeId(string pubkey, long createdAt, int kind, string[][] tags, string content, Span<byte> id32)
    {
        var buffer = Scratch();
        WriteIdPayload(buffer, pubkey, createdAt, kind, tags, content);
        SHA256.HashData(buffer.WrittenSpan, id32);
    }

    /// <summary>The id as lowercase hex, as nostr-tools' getEventHash returns it.</summary>
    public static string ComputeIdHex(string pubkey, long createdAt, int kind, string[][] tags, string content)
    {
        Span<byte> id = stackalloc byte[32];
        ComputeId(pubkey, createdAt, kind, tags, content, id);
        return Convert.ToHexStringLower(id);
    }

    /// <summary>The stored and sent form: <c>{"id":..,"pubkey":..,"created_at":..,"kind":..,"tags":..,"content":..,"sig":..}</c>.</summary>
    public static byte[] SerializeEvent(string id, string pubkey, long createdAt, int kind, string[][] tags, string content, string sig)
    {
        var buffer = Scratch();
        JsonText.WriteRaw(buffer, "{\"id\":"u8);
        JsonText.WriteString(buffer, id);
        JsonText.WriteRaw(buffer, ",\"pubkey\":"u8);
        JsonText.WriteString(buffer, pubkey);
        JsonText.WriteRaw(buffer, ",\"created_at\":"u8);
        JsonText.WriteNumber(buffer, createdAt);
        JsonText.WriteRaw(buffer, ",\"kind\":"u8);
        JsonText.WriteNumber(buffer, kind);
        JsonText.WriteRaw(buffer, ",\"tags\":"u8);
        JsonText.WriteTags(buffer, tags);
        JsonText.WriteRaw(buffer, ",\"content\":"u8);
        JsonText.WriteString(buffer, content);
        JsonText.WriteRaw(buffer, ",\"sig\":"u8);
        JsonText.WriteString(buffer, sig);
        JsonText.WriteByte(buffer, (byte)'}');
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Builds a <see cref="NostrEvent"/> from already-validated fields, serializing it once.</summary>
    public static NostrEvent CreateEvent(string id, string pubkey, long createdAt, int kind, string[][] tags, string content, string sig) =>
        new(id, pubkey, createdAt, kind, tags, content, sig, SerializeEvent(id, pubkey, createdAt, kind, tags, content, sig));
}
