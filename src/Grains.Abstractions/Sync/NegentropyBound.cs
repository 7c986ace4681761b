using System.Buffers.Binary;

namespace NostrRelay.Sync;

/// <summary>
/// Where a negentropy range ends (exclusive): a timestamp and a prefix of an id, 0 to 32 bytes, the rest taken as
/// zeros. <see cref="ulong.MaxValue"/> is infinity, past every record.
/// </summary>
public readonly struct NegentropyBound
{
    private readonly byte[] _key;

    private NegentropyBound(byte[] key, int prefixLength)
    {
        _key = key;
        PrefixLength = prefixLength;
    }

    public static NegentropyBound Infinity { get; } = Of(ulong.MaxValue);

    public static NegentropyBound Zero { get; } = Of(0);

    public ulong Timestamp => BinaryPrimitives.ReadUInt64BigEndian(_key);

    public int PrefixLength { get; }

    public ReadOnlySpan<byte> Prefix => _key.AsSpan(8, PrefixLength);

    /// <summary>The bound as a record's 40 bytes would be (the prefix padded with zeros), to compare records against.</summary>
    public ReadOnlySpan<byte> Key => _key;

    public static NegentropyBound Of(ulong timestamp, ReadOnlySpan<byte> prefix = default)
    {
        if (prefix.Length > 32) throw new ArgumentException("an id prefix is at most 32 bytes", nameof(prefix));
        var key = new byte[NegentropySet.RecordLength];
        BinaryPrimitives.WriteUInt64BigEndian(key, timestamp);
        prefix.CopyTo(key.AsSpan(8));
        return new NegentropyBound(key, prefix.Length);
    }

    /// <summary>The bound that is exactly this record: its timestamp and whole id.</summary>
    public static NegentropyBound AtRecord(ReadOnlySpan<byte> record40) => Of(BinaryPrimitives.ReadUInt64BigEndian(record40), record40[8..]);

    /// <summary>
    /// The shortest bound between two adjacent records: the later one's timestamp alone when they differ, else its id
    /// up to and including the first byte where the two ids differ.
    /// </summary>
    public static NegentropyBound Between(ReadOnlySpan<byte> previous40, ReadOnlySpan<byte> next40)
    {
        var timestamp = BinaryPrimitives.ReadUInt64BigEndian(next40);
        if (BinaryPrimitives.ReadUInt64BigEndian(previous40) != timestamp) return Of(timestamp);
        var shared = previous40[8..].CommonPrefixLength(next40[8..]);
        return Of(timestamp, next40.Slice(8, Math.Min(32, shared + 1)));
    }
}
