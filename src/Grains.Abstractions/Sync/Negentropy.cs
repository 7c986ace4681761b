namespace NostrRelay.Sync;

/// <summary>
/// Negentropy Protocol V1 (the appendix of NIP-77), either side: range-based set reconciliation over a sorted
/// <see cref="NegentropySet"/>. The initiator opens with <see cref="Initiate"/> and learns which ids it has that the
/// other side lacks, and which it needs, from <see cref="ReconcileAsInitiator"/>; the other side answers each message
/// with <see cref="Reconcile"/>. Ranges whose fingerprints differ are split into 16 buckets, or listed id by id when
/// small; a message stops growing near <c>frameSizeLimit</c> and leaves the rest as one fingerprint for the next round.
/// </summary>
public sealed class Negentropy
{
    public const byte ProtocolVersion = 0x61;

    private const int Buckets = 16;
    private const int FingerprintLength = 16;
    private const int IdLength = 32;

    /// <summary>Bytes kept free under the frame limit for the last range of a message.</summary>
    private const int FrameSlack = 200;

    private readonly NegentropySet _set;
    private readonly int _frameSizeLimit;
    private ulong _lastOut;

    /// <param name="frameSizeLimit">The most bytes a message this side writes should have (before hex); 0 for no limit.</param>
    public Negentropy(NegentropySet set, int frameSizeLimit = 0)
    {
        ArgumentNullException.ThrowIfNull(set);
        if (frameSizeLimit != 0 && frameSizeLimit < 4096) throw new ArgumentOutOfRangeException(nameof(frameSizeLimit), "a frame limit is at least 4096 bytes");
        _set = set;
        _frameSizeLimit = frameSizeLimit;
    }

    /// <summary>The initiator's first message: fingerprints of the whole set in 16 buckets, or every id when it is small.</summary>
    public byte[] Initiate()
    {
        _lastOut = 0;
        var output = new NegentropyWriter();
        output.WriteByte(ProtocolVersion);
        SplitRange(0, _set.Count, NegentropyBound.Infinity, output);
        return output.ToArray();
    }

    /// <summary>
    /// The answer to the initiator's message. A message of another protocol version is answered with this side's
    /// version byte alone, as the protocol asks, so the initiator can fall back.
    /// </summary>
    /// <exception cref="NegentropyException">The message is malformed.</exception>
    public byte[] Reconcile(ReadOnlySpan<byte> query)
    {
        if (query.IsEmpty) throw new NegentropyException("empty message");
        var version = query[0];
        if (version is < 0x60 or > 0x6F) throw new NegentropyException("invalid protocol version byte");
        if (version != ProtocolVersion) return [ProtocolVersion];
        return Run(query, null, null);
    }

    /// <summary>
    /// The initiator's next message, or null when reconciliation is complete. Ids this side has and the other lacks
    /// go to <paramref name="have"/>, ids the other has and this side lacks to <paramref name="need"/>.
    /// </summary>
    /// <exception cref="NegentropyException">The message is malformed or of another protocol version.</exception>
    public byte[]? ReconcileAsInitiator(ReadOnlySpan<byte> query, ICollection<byte[]> have, ICollection<byte[]> need)
    {
        ArgumentNullException.ThrowIfNull(have);
        ArgumentNullException.ThrowIfNull(need);
        if (query.IsEmpty) throw new NegentropyException("empty message");
        if (query[0] != ProtocolVersion) throw new NegentropyException($"the other side speaks negentropy protocol version 0x{query[0]:x2}, not 0x61");
        var output = Run(query, have, need);
        return output.Length == 1 ? null : output;
    }

    private byte[] Run(ReadOnlySpan<byte> query, ICollection<byte[]>? have, ICollection<byte[]>? need)
    {
        var initiator = have is not null;
        var reader = new NegentropyReader(query[1..]);
        _lastOut = 0;
        var output = new NegentropyWriter();
        output.WriteByte(ProtocolVersion);
        var range = new NegentropyWriter();
        var count = _set.Count;
        var previousBound = NegentropyBound.Zero;
        var previousIndex = 0;
        var emitted = 0;   // where the last range written ends: the remainder's fingerprint starts there
        var skipping = false;
        Span<byte> ours = stackalloc byte[FingerprintLength];

        while (!reader.AtEnd)
        {
            range.Clear();
            var bound = reader.Bound();
            var mode = reader.Varint();
            var lower = previousIndex;
            var upper = _set.LowerBound(previousIndex, count, bound);

            switch (mode)
            {
                case NegentropyMode.Skip:
                    skipping = true;
                    break;

                case NegentropyMode.Fingerprint:
                    var theirs = reader.Bytes(FingerprintLength);
                    _set.Fingerprint(lower, upper, ours);
                    if (theirs.SequenceEqual(ours)) skipping = true;
                    else
                    {
                        FlushSkip(ref skipping, previousBound, range);
                        SplitRange(lower, upper, bound, range);
                    }
                    break;

                case NegentropyMode.IdList:
                    var listed = reader.Count(query.Length / IdLength);
                    var ids = reader.Bytes(listed * IdLength);
                    if (initiator)
                    {
                        skipping = true;
                        Compare(ids, lower, upper, have!, need!);
                    }
                    else
                    {
                        FlushSkip(ref skipping, previousBound, range);
                        upper = ListIds(lower, upper, bound, output.Length, range);
                        output.Append(range);
                        range.Clear();
                        emitted = upper;
                    }
                    break;

                default:
                    throw new NegentropyException($"unknown range mode {mode}");
            }

            if (Exceeds(output.Length + range.Length))
            {
                // The rest, from the last range written to infinity, as one fingerprint: the other side answers it next round.
                _set.Fingerprint(emitted, count, ours);
                output.Bound(NegentropyBound.Infinity, ref _lastOut);
                output.Varint(NegentropyMode.Fingerprint);
                output.Bytes(ours);
                break;
            }
            output.Append(range);
            if (range.Length > 0) emitted = upper;
            previousIndex = upper;
            previousBound = bound;
        }
        return output.ToArray();
    }

    private bool Exceeds(int length) => _frameSizeLimit != 0 && length > _frameSizeLimit - FrameSlack;

    private void FlushSkip(ref bool skipping, in NegentropyBound previousBound, NegentropyWriter range)
    {
        if (!skipping) return;
        skipping = false;
        range.Bound(previousBound, ref _lastOut);
        range.Varint(NegentropyMode.Skip);
    }

    /// <summary>
    /// The responder's answer to an id list: its own ids of the range, as many as fit the frame. When they do not all
    /// fit, the list ends at the first one left out (its bound) and the returned upper index is that record's.
    /// </summary>
    private int ListIds(int lower, int upper, in NegentropyBound bound, int written, NegentropyWriter range)
    {
        var end = upper;
        var endBound = bound;
        for (var i = lower; i < upper; i++)
        {
            if (Exceeds(written + range.Length + (i - lower) * IdLength))
            {
                end = i;
                endBound = NegentropyBound.AtRecord(_set.Record(i));
                break;
            }
        }
        range.Bound(endBound, ref _lastOut);
        range.Varint(NegentropyMode.IdList);
        range.Varint((ulong)(end - lower));
        for (var i = lower; i < end; i++) range.Bytes(_set.IdAt(i));
        return end;
    }

    /// <summary>The initiator's side of an id list: which of the range's ids each side alone has.</summary>
    private void Compare(ReadOnlySpan<byte> theirIds, int lower, int upper, ICollection<byte[]> have, ICollection<byte[]> need)
    {
        var theirs = new HashSet<IdKey>(theirIds.Length / IdLength);
        for (var offset = 0; offset < theirIds.Length; offset += IdLength) theirs.Add(new IdKey(theirIds.Slice(offset, IdLength)));
        for (var i = lower; i < upper; i++)
        {
            var id = new IdKey(_set.IdAt(i));
            if (!theirs.Remove(id)) have.Add(id.ToArray());
        }
        foreach (var id in theirs) need.Add(id.ToArray());
    }

    private void SplitRange(int lower, int upper, in NegentropyBound upperBound, NegentropyWriter output)
    {
        var count = upper - lower;
        if (count < Buckets * 2)
        {
            output.Bound(upperBound, ref _lastOut);
            output.Varint(NegentropyMode.IdList);
            output.Varint((ulong)count);
            for (var i = lower; i < upper; i++) output.Bytes(_set.IdAt(i));
            return;
        }
        var perBucket = count / Buckets;
        var withExtra = count % Buckets;
        var current = lower;
        Span<byte> fingerprint = stackalloc byte[FingerprintLength];
        for (var bucket = 0; bucket < Buckets; bucket++)
        {
            var size = perBucket + (bucket < withExtra ? 1 : 0);
            _set.Fingerprint(current, current + size, fingerprint);
            current += size;
            var next = current == upper ? upperBound : NegentropyBound.Between(_set.Record(current - 1), _set.Record(current));
            output.Bound(next, ref _lastOut);
            output.Varint(NegentropyMode.Fingerprint);
            output.Bytes(fingerprint);
        }
    }

    /// <summary>A 32-byte id as four words, to hash and compare without a string.</summary>
    private readonly record struct IdKey(ulong A, ulong B, ulong C, ulong D)
    {
        public IdKey(ReadOnlySpan<byte> id)
            : this(BitConverter.ToUInt64(id), BitConverter.ToUInt64(id[8..]), BitConverter.ToUInt64(id[16..]), BitConverter.ToUInt64(id[24..]))
        {
        }

        public byte[] ToArray()
        {
            var id = new byte[IdLength];
            BitConverter.TryWriteBytes(id, A);
            BitConverter.TryWriteBytes(id.AsSpan(8), B);
            BitConverter.TryWriteBytes(id.AsSpan(16), C);
            BitConverter.TryWriteBytes(id.AsSpan(24), D);
            return id;
        }
    }
}
