namespace NostrRelay.Sync;

/// <summary>Reads one negentropy message; anything short or out of range is a <see cref="NegentropyException"/>.</summary>
internal ref struct NegentropyReader(ReadOnlySpan<byte> message)
{
    private ReadOnlySpan<byte> _rest = message;
    private ulong _lastTimestamp;

    public readonly bool AtEnd => _rest.IsEmpty;

    public byte Byte()
    {
        if (_rest.IsEmpty) throw new NegentropyException("message ends early");
        var value = _rest[0];
        _rest = _rest[1..];
        return value;
    }

    public ReadOnlySpan<byte> Bytes(int count)
    {
        if (_rest.Length < count) throw new NegentropyException("message ends early");
        var bytes = _rest[..count];
        _rest = _rest[count..];
        return bytes;
    }

    public ulong Varint()
    {
        ulong value = 0;
        for (var digits = 0; ; digits++)
        {
            if (digits == NegentropyWriter.MaxVarintLength || (value >> 57) != 0) throw new NegentropyException("varint is too large");
            var b = Byte();
            value = (value << 7) | (uint)(b & 0x7F);
            if ((b & 0x80) == 0) return value;
        }
    }

    /// <summary>A varint that counts something in a message of this size (ids, prefix bytes).</summary>
    public int Count(int max)
    {
        var value = Varint();
        if (value > (ulong)max) throw new NegentropyException($"count {value} is larger than {max}");
        return (int)value;
    }

    public NegentropyBound Bound()
    {
        var encoded = Varint();
        ulong timestamp;
        if (encoded == 0 || _lastTimestamp == ulong.MaxValue) timestamp = ulong.MaxValue;
        else
        {
            var delta = encoded - 1;
            if (delta >= ulong.MaxValue - _lastTimestamp) throw new NegentropyException("bound timestamp overflows");
            timestamp = _lastTimestamp + delta;
        }
        _lastTimestamp = timestamp;
        var length = Count(32);
        return NegentropyBound.Of(timestamp, Bytes(length));
    }
}
