using System.Security.Cryptography;
using System.Text;

namespace NostrRelay.Protocol;

/// <summary>
/// NIP-45's HyperLogLog: 256 one-byte registers over the pubkeys of the counted events, at an offset taken from the
/// filter, so that a client can merge the registers several relays return (the highest value per register) and
/// estimate how many distinct pubkeys reacted, reposted or follow across all of them.
/// </summary>
public sealed class HyperLogLog
{
    public const int Registers = 256;

    private readonly byte[] _registers = new byte[Registers];

    /// <param name="offset">The byte of the pubkey that picks the register, 8 to 23: <see cref="OffsetFor"/>.</param>
    public HyperLogLog(int offset)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(offset, 8);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(offset, 23);
        Offset = offset;
    }

    public int Offset { get; }

    public ReadOnlySpan<byte> Values => _registers;

    /// <summary>
    /// The offset NIP-45 derives from a filter: its first tag condition's first value (a 64-hex id or pubkey as it
    /// is, an address's pubkey, anything else hashed with SHA-256), the hex digit at position 32, plus 8. Null for a
    /// filter without a tag condition, for which the NIP defines no HyperLogLog.
    /// </summary>
    public static int? OffsetFor(Filter filter)
    {
        if (filter.Tags is not { Length: > 0 } tags || tags[0].Values.Length == 0) return null;
        var value = tags[0].Values[0];
        var hex = KeyOf(value);
        return HexDigit(hex[32]) + 8;
    }

    private static string KeyOf(string value)
    {
        if (Hex.IsLowerHex(value, 64)) return value;
        var parts = value.Split(':');
        if (parts.Length == 3 && Hex.IsLowerHex(parts[1], 64)) return parts[1];
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(value)));
    }

    /// <summary>Feeds one event's pubkey (64 lower-case hex digits): the byte at the offset picks the register, the zero bits after it (plus one) are its value.</summary>
    public void Add(ReadOnlySpan<char> pubkeyHex)
    {
        if (pubkeyHex.Length != 64) return;
        var register = ByteAt(pubkeyHex, Offset);
        // Leading zero bits over the (at most seven) bytes after the offset, as the NIP's reference clients count them.
        var zeros = 0;
        for (var i = Offset + 1; i < Offset + 8; i++)
        {
            var b = ByteAt(pubkeyHex, i);
            if (b == 0)
            {
                zeros += 8;
                continue;
            }
            zeros += System.Numerics.BitOperations.LeadingZeroCount((uint)b) - 24;
            break;
        }
        var value = (byte)(zeros + 1);
        if (value > _registers[register]) _registers[register] = value;
    }

    /// <summary>Keeps the higher value of each register: the registers of a union of counts.</summary>
    public void Merge(ReadOnlySpan<byte> other)
    {
        if (other.Length != Registers) throw new ArgumentException($"a HyperLogLog has {Registers} registers", nameof(other));
        for (var i = 0; i < Registers; i++)
            if (other[i] > _registers[i]) _registers[i] = other[i];
    }

    /// <summary>The 512 hex digits NIP-45 puts in a COUNT answer's <c>hll</c>.</summary>
    public string ToHex() => Convert.ToHexStringLower(_registers);

    private static int ByteAt(ReadOnlySpan<char> hex, int index) => (HexDigit(hex[2 * index]) << 4) | HexDigit(hex[2 * index + 1]);

    private static int HexDigit(char c) => c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
}
