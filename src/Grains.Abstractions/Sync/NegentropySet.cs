using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace NostrRelay.Sync;

/// <summary>
/// One side's records for NIP-77 reconciliation: each event's <c>(created_at, id)</c>, sorted by created_at and then
/// by id, packed as 40 bytes per record (created_at big-endian, then the 32 id bytes) so that the packed bytes sort in
/// the protocol's own order and cross a grain call as one array. 1,000,000 records take 40 MB.
/// </summary>
[GenerateSerializer, Immutable, Alias("relay.negentropy-set")]
public sealed class NegentropySet
{
    public const int RecordLength = 8 + 32;

    public static NegentropySet Empty { get; } = new([]);

    [Id(0)] private readonly byte[] _packed;

    private NegentropySet(byte[] packed) => _packed = packed;

    public int Count => _packed.Length / RecordLength;

    public ulong TimestampAt(int index) => BinaryPrimitives.ReadUInt64BigEndian(Record(index));

    public ReadOnlySpan<byte> IdAt(int index) => Record(index)[8..];

    /// <summary>The record's 40 bytes: created_at big-endian, then the id.</summary>
    public ReadOnlySpan<byte> Record(int index) => _packed.AsSpan(index * RecordLength, RecordLength);

    /// <summary>The first index in [begin, end) whose record is not below <paramref name="bound"/> (end when none).</summary>
    public int LowerBound(int begin, int end, in NegentropyBound bound)
    {
        var key = bound.Key;
        while (begin < end)
        {
            var middle = begin + (end - begin) / 2;
            if (Record(middle).SequenceCompareTo(key) < 0) begin = middle + 1;
            else end = middle;
        }
        return begin;
    }

    /// <summary>
    /// The protocol's fingerprint of the records in [begin, end): their ids added as 256-bit little-endian numbers
    /// (mod 2^256), followed by the count as a varint, hashed with SHA-256 and cut to 16 bytes.
    /// </summary>
    public void Fingerprint(int begin, int end, Span<byte> fingerprint16)
    {
        ulong s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        var packed = _packed.AsSpan();
        for (var i = begin; i < end; i++)
        {
            var id = packed.Slice(i * RecordLength + 8, 32);
            var words = MemoryMarshal.Cast<byte, ulong>(id);
            ulong w0 = words[0], w1 = words[1], w2 = words[2], w3 = words[3];
            if (!BitConverter.IsLittleEndian)
            {
                w0 = BinaryPrimitives.ReverseEndianness(w0); w1 = BinaryPrimitives.ReverseEndianness(w1);
                w2 = BinaryPrimitives.ReverseEndianness(w2); w3 = BinaryPrimitives.ReverseEndianness(w3);
            }
            var r0 = s0 + w0; ulong c = r0 < s0 ? 1UL : 0;
            var r1 = s1 + w1 + c; c = r1 < s1 || (c == 1 && r1 == s1) ? 1UL : 0;
            var r2 = s2 + w2 + c; c = r2 < s2 || (c == 1 && r2 == s2) ? 1UL : 0;
            s3 += w3 + c;
            s0 = r0; s1 = r1; s2 = r2;
        }
        Span<byte> input = stackalloc byte[32 + NegentropyWriter.MaxVarintLength];
        BinaryPrimitives.WriteUInt64LittleEndian(input, s0);
        BinaryPrimitives.WriteUInt64LittleEndian(input[8..], s1);
        BinaryPrimitives.WriteUInt64LittleEndian(input[16..], s2);
        BinaryPrimitives.WriteUInt64LittleEndian(input[24..], s3);
        var length = 32 + NegentropyWriter.WriteVarint(input[32..], (ulong)(end - begin));
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(input[..length], hash);
        hash[..16].CopyTo(fingerprint16);
    }

    /// <summary>Collects records in any order; <see cref="Build"/> sorts them and drops repeats.</summary>
    public sealed class Builder
    {
        private Record[] _records = new Record[64];
        private int _count;

        public int Count => _count;

        public void Add(ulong createdAt, ReadOnlySpan<byte> id32)
        {
            if (createdAt == ulong.MaxValue) throw new ArgumentOutOfRangeException(nameof(createdAt), "the largest timestamp means infinity in negentropy");
            if (id32.Length != 32) throw new ArgumentException("an id is 32 bytes", nameof(id32));
            if (_count == _records.Length) Array.Resize(ref _records, _records.Length * 2);
            _records[_count++] = new Record(createdAt,
                BinaryPrimitives.ReadUInt64BigEndian(id32), BinaryPrimitives.ReadUInt64BigEndian(id32[8..]),
                BinaryPrimitives.ReadUInt64BigEndian(id32[16..]), BinaryPrimitives.ReadUInt64BigEndian(id32[24..]));
        }

        /// <summary>An event's record: its created_at (negative ones, which NIP-01 does not allow, count as 0) and hex id.</summary>
        public void Add(long createdAt, string hexId)
        {
            Span<byte> id = stackalloc byte[32];
            if (hexId.Length != 64 || Convert.FromHexString(hexId, id, out _, out var written) != System.Buffers.OperationStatus.Done || written != 32)
                throw new ArgumentException("an id is 64 hex characters", nameof(hexId));
            Add((ulong)Math.Max(0, createdAt), id);
        }

        /// <summary>The newest <paramref name="limit"/> records in NIP-01's order (created_at descending, then lowest id).</summary>
        public void KeepNewest(int limit)
        {
            if (_count <= limit) return;
            Array.Sort(_records, 0, _count, NewestFirst.Instance);
            _count = limit;
        }

        public NegentropySet Build()
        {
            Array.Sort(_records, 0, _count);
            var packed = new byte[_count * RecordLength];
            var written = 0;
            for (var i = 0; i < _count; i++)
            {
                if (written > 0 && _records[i].CompareTo(_records[i - 1]) == 0) continue;
                _records[i].Write(packed.AsSpan(written * RecordLength, RecordLength));
                written++;
            }
            if (written * RecordLength != packed.Length) Array.Resize(ref packed, written * RecordLength);
            _records = [];
            _count = 0;
            return new NegentropySet(packed);
        }

        private readonly record struct Record(ulong CreatedAt, ulong A, ulong B, ulong C, ulong D) : IComparable<Record>
        {
            public int CompareTo(Record other)
            {
                var c = CreatedAt.CompareTo(other.CreatedAt);
                if (c != 0) return c;
                return CompareIds(other);
            }

            public int CompareIds(Record other)
            {
                var c = A.CompareTo(other.A);
                if (c != 0) return c;
                c = B.CompareTo(other.B);
                if (c != 0) return c;
                c = C.CompareTo(other.C);
                return c != 0 ? c : D.CompareTo(other.D);
            }

            public void Write(Span<byte> destination)
            {
                BinaryPrimitives.WriteUInt64BigEndian(destination, CreatedAt);
                BinaryPrimitives.WriteUInt64BigEndian(destination[8..], A);
                BinaryPrimitives.WriteUInt64BigEndian(destination[16..], B);
                BinaryPrimitives.WriteUInt64BigEndian(destination[24..], C);
                BinaryPrimitives.WriteUInt64BigEndian(destination[32..], D);
            }
        }

        private sealed class NewestFirst : IComparer<Record>
        {
            public static readonly NewestFirst Instance = new();

            public int Compare(Record x, Record y)
            {
                var c = y.CreatedAt.CompareTo(x.CreatedAt);
                return c != 0 ? c : x.CompareIds(y);
            }
        }
    }
}
