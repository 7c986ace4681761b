using System.Buffers;
using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using NostrRelay.Protocol;

namespace NostrRelay.Storage.KeyValue;

/// <summary>
/// The key layout: one key space, a table per first byte. Index keys end in the NIP-01 order key
/// (inverted created_at, then id), so a forward prefix scan yields newest first, and equal seconds lowest id first.
/// <code>
/// 'm' "last-position"                      → last position handed out (8 bytes; positions are never reused)
/// 'e' position                             → the event's JSON, as stored
/// 'i' id                                   → position, version, stream (UTF-8)
/// 's' stream (UTF-8)                       → head version (kept after deletes, so versions are never reused)
/// 'v' stream length, stream, version       → position (unique (stream, version); a stream read scans it in version order)
/// 'a' hash(address)                        → positions holding the replaceable address (normally one)
/// 'C' order                                → position, kind, pubkey (every event, by created_at)
/// 'K' kind order                           → position, kind, pubkey
/// 'P' pubkey order                         → position, kind, pubkey
/// 'Q' pubkey kind order                    → position, kind, pubkey
/// 'T' hash(letter, value) order            → position, kind, pubkey (each single-letter tag's first value)
/// 'x' expires_at, position                 → nothing      (NIP-40: events by expiration, for the purge)
/// </code>
/// Ids and pubkeys are 32 raw bytes (NIP-01 spells them in lowercase hex, whose order is the bytes' order);
/// kinds and versions are big-endian. Tag values and addresses, of any length, go in as 16 bytes of SHA-256,
/// so every prefix has one length; a reader checks each candidate against the whole filter, so a collision
/// costs a wasted read, never a wrong answer.
/// </summary>
internal static class KeyValueKeys
{
    public const byte Meta = (byte)'m', Event = (byte)'e', Id = (byte)'i', Stream = (byte)'s', StreamVersion = (byte)'v',
        Address = (byte)'a', Expiring = (byte)'x', ByCreatedAt = (byte)'C', ByKind = (byte)'K', ByPubkey = (byte)'P', ByPubkeyKind = (byte)'Q', ByTag = (byte)'T',
        ByWord = (byte)'W';

    /// <summary>Inverted created_at (8) then id (32): the tail of every index key.</summary>
    public const int OrderLength = 8 + 32;

    public const int HashLength = 16;

    /// <summary>Strings up to this many UTF-8 bytes are hashed from the stack.</summary>
    private const int StackHashInput = 512;

    public static readonly byte[] LastPosition = [Meta, .. "last-position"u8];

    /// <summary>Set once every stored event's expiration is in the 'x' keys (stores made before them are filled at open).</summary>
    public static readonly byte[] ExpirationsIndexed = [Meta, .. "expirations-indexed"u8];

    /// <summary>Set once the 'W' keys of every stored event exist (NIP-50's word index came after the first databases).</summary>
    public static readonly byte[] WordsIndexed = [Meta, .. "words-indexed"u8];

    /// <summary>NIP-40 expirations are non-negative, so big-endian keys sort soonest first.</summary>
    public static byte[] ExpiringKey(long expiresAt, long position)
    {
        var key = new byte[17];
        key[0] = Expiring;
        BinaryPrimitives.WriteInt64BigEndian(key.AsSpan(1), expiresAt);
        BinaryPrimitives.WriteInt64BigEndian(key.AsSpan(9), position);
        return key;
    }

    /// <summary>The 32 bytes of a 64-char lowercase hex id or pubkey; false for anything else (which no stored event has).</summary>
    public static bool TryHex32(string hex, Span<byte> bytes) =>
        Hex.IsLowerHex(hex, 64) && Convert.FromHexString(hex, bytes, out _, out var written) == OperationStatus.Done && written == 32;

    public static byte[] IdKey(ReadOnlySpan<byte> id32) => [Id, .. id32];

    public static byte[] EventKey(long position)
    {
        var key = new byte[9];
        key[0] = Event;
        BinaryPrimitives.WriteInt64BigEndian(key.AsSpan(1), position);
        return key;
    }

    public static long PositionOfEventKey(ReadOnlySpan<byte> key) => BinaryPrimitives.ReadInt64BigEndian(key[1..]);

    public static byte[] StreamKey(string stream)
    {
        var key = new byte[1 + Encoding.UTF8.GetByteCount(stream)];
        key[0] = Stream;
        Encoding.UTF8.GetBytes(stream, key.AsSpan(1));
        return key;
    }

    public static byte[] StreamVersionKey(string stream, long version)
    {
        var length = Encoding.UTF8.GetByteCount(stream);
        var key = new byte[1 + 4 + length + 8];
        key[0] = StreamVersion;
        BinaryPrimitives.WriteInt32BigEndian(key.AsSpan(1), length);
        Encoding.UTF8.GetBytes(stream, key.AsSpan(5));
        BinaryPrimitives.WriteInt64BigEndian(key.AsSpan(5 + length), version);
        return key;
    }

    public static byte[] AddressKey(string address)
    {
        var key = new byte[1 + HashLength];
        key[0] = Address;
        Hash(address, '\0', key.AsSpan(1));
        return key;
    }

    public static byte[] KindPrefix(int kind)
    {
        var key = new byte[5];
        key[0] = ByKind;
        BinaryPrimitives.WriteInt32BigEndian(key.AsSpan(1), kind);
        return key;
    }

    public static byte[] PubkeyPrefix(ReadOnlySpan<byte> pubkey32) => [ByPubkey, .. pubkey32];

    public static byte[] PubkeyKindPrefix(ReadOnlySpan<byte> pubkey32, int kind)
    {
        var key = new byte[1 + 32 + 4];
        key[0] = ByPubkeyKind;
        pubkey32.CopyTo(key.AsSpan(1));
        BinaryPrimitives.WriteInt32BigEndian(key.AsSpan(33), kind);
        return key;
    }

    public static byte[] TagPrefix(char letter, string value)
    {
        var key = new byte[1 + HashLength];
        key[0] = ByTag;
        Hash(value, letter, key.AsSpan(1));
        return key;
    }

    /// <summary>NIP-50: the events whose content has this word (as <see cref="SearchQuery"/> reads words), newest first.</summary>
    public static byte[] WordPrefix(string word)
    {
        var key = new byte[1 + HashLength];
        key[0] = ByWord;
        Hash(word, 'W', key.AsSpan(1));
        return key;
    }

    public static readonly byte[] CreatedAtPrefix = [ByCreatedAt];

    /// <summary>created_at mapped so that a bytewise ascending scan is newest first (any long, not only NIP-01's non-negative ones).</summary>
    public static ulong InvertedTime(long createdAt) => ~((ulong)createdAt ^ 0x8000_0000_0000_0000UL);

    /// <summary>The created_at at the start of an order key (the inverse of <see cref="InvertedTime"/>).</summary>
    public static long CreatedAtOfOrder(ReadOnlySpan<byte> order) =>
        (long)(~BinaryPrimitives.ReadUInt64BigEndian(order) ^ 0x8000_0000_0000_0000UL);

    public static void WriteOrder(Span<byte> destination, long createdAt, ReadOnlySpan<byte> id32)
    {
        BinaryPrimitives.WriteUInt64BigEndian(destination, InvertedTime(createdAt));
        id32.CopyTo(destination[8..]);
    }

    public static byte[] IndexKey(byte[] prefix, ReadOnlySpan<byte> order)
    {
        var key = new byte[prefix.Length + OrderLength];
        prefix.CopyTo(key, 0);
        order.CopyTo(key.AsSpan(prefix.Length));
        return key;
    }

    /// <summary>Every index key of an event; a tag repeated in the event gives the same key twice, which is harmless.</summary>
    public static List<byte[]> IndexKeys(NostrEvent evt, ReadOnlySpan<byte> id32, ReadOnlySpan<byte> pubkey32)
    {
        Span<byte> order = stackalloc byte[OrderLength];
        WriteOrder(order, evt.CreatedAt, id32);
        var keys = new List<byte[]>(4 + evt.Tags.Length)
        {
            IndexKey(CreatedAtPrefix, order),
            IndexKey(KindPrefix(evt.Kind), order),
            IndexKey(PubkeyPrefix(pubkey32), order),
            IndexKey(PubkeyKindPrefix(pubkey32, evt.Kind), order),
        };
        foreach (var tag in evt.Tags)
            if (IsFilterable(tag)) keys.Add(IndexKey(TagPrefix(tag[0][0], tag[1]), order));
        keys.AddRange(WordKeys(evt.Content, order));
        return keys;
    }

    /// <summary>NIP-50's keys of an event: one per distinct word of its content, then its order key.</summary>
    public static IEnumerable<byte[]> WordKeys(string content, ReadOnlySpan<byte> order)
    {
        var keys = new List<byte[]>();
        foreach (var word in SearchQuery.IndexedWords(content, distinct: true)) keys.Add(IndexKey(WordPrefix(word), order));
        return keys;
    }

    /// <summary>A tag key's value: the position, then the event's kind and pubkey, so a count or a COUNT's keys need not read the event.</summary>
    public const int TagValueLength = 8 + 4 + 32;

    public static byte[] TagValue(long position, int kind, ReadOnlySpan<byte> pubkey32)
    {
        var value = new byte[TagValueLength];
        BinaryPrimitives.WriteInt64BigEndian(value, position);
        BinaryPrimitives.WriteInt32BigEndian(value.AsSpan(8), kind);
        pubkey32.CopyTo(value.AsSpan(12));
        return value;
    }

    public static byte[] Int64Value(long value)
    {
        var bytes = new byte[8];
        BinaryPrimitives.WriteInt64BigEndian(bytes, value);
        return bytes;
    }

    public static long ReadInt64(ReadOnlySpan<byte> value) => BinaryPrimitives.ReadInt64BigEndian(value);

    /// <summary>The value under an id key: where the event is and which stream version it is.</summary>
    public static byte[] IdValue(long position, long version, string stream)
    {
        var value = new byte[16 + Encoding.UTF8.GetByteCount(stream)];
        BinaryPrimitives.WriteInt64BigEndian(value, position);
        BinaryPrimitives.WriteInt64BigEndian(value.AsSpan(8), version);
        Encoding.UTF8.GetBytes(stream, value.AsSpan(16));
        return value;
    }

    public static (long Position, long Version, string Stream) ReadIdValue(ReadOnlySpan<byte> value) =>
        (BinaryPrimitives.ReadInt64BigEndian(value), BinaryPrimitives.ReadInt64BigEndian(value[8..]), Encoding.UTF8.GetString(value[16..]));

    /// <summary>NIP-01: only tags named by one letter can be filtered on ("#e"), by their first value.</summary>
    public static bool IsFilterable(string[] tag) => tag.Length >= 2 && tag[0].Length == 1;

    /// <summary>16 bytes of SHA-256 over the letter (UTF-16, two bytes) and the value's UTF-8.</summary>
    private static void Hash(string value, char letter, Span<byte> destination)
    {
        var length = 2 + Encoding.UTF8.GetByteCount(value);
        byte[]? rented = length > StackHashInput ? ArrayPool<byte>.Shared.Rent(length) : null;
        var input = rented is null ? stackalloc byte[StackHashInput] : rented;
        BinaryPrimitives.WriteUInt16BigEndian(input, letter);
        Encoding.UTF8.GetBytes(value, input[2..]);
        Span<byte> digest = stackalloc byte[32];
        SHA256.HashData(input[..length], digest);
        digest[..HashLength].CopyTo(destination);
        if (rented is not null) ArrayPool<byte>.Shared.Return(rented);
    }
}
