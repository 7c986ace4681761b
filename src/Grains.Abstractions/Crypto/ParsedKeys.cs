using System.Buffers.Binary;

namespace NostrRelay.Crypto;

/// <summary>
/// Recently parsed public keys, one per slot chosen by the key's first bytes (a key is a curve point's x coordinate,
/// uniformly spread): a lookup is one array read and a 32-byte compare, a new key overwrites its slot's old one.
/// Each entry is the key followed by its parsed form (secp256k1's opaque 64-byte struct), never changed once
/// published, so readers on any thread see a whole entry or none. Bounded at 1,024 entries, about 130 KB.
/// </summary>
internal sealed class ParsedKeys
{
    public const int KeyLength = 32;
    public const int ParsedLength = 64;
    private const int Slots = 1024;

    private readonly byte[]?[] _entries = new byte[Slots][];

    /// <summary>The entry holding this key, or null.</summary>
    public byte[]? Find(ReadOnlySpan<byte> key)
    {
        var entry = Volatile.Read(ref _entries[Slot(key)]);
        return entry is not null && entry.AsSpan(0, KeyLength).SequenceEqual(key) ? entry : null;
    }

    /// <summary>Publishes a complete entry (key, then parsed form) in its key's slot.</summary>
    public void Add(byte[] entry) => Volatile.Write(ref _entries[Slot(entry.AsSpan(0, KeyLength))], entry);

    private static int Slot(ReadOnlySpan<byte> key) => (int)(BinaryPrimitives.ReadUInt32LittleEndian(key) % Slots);
}
