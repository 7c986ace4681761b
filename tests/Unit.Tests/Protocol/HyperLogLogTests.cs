using System.Security.Cryptography;
using System.Text;
using NostrRelay.Protocol;

namespace NostrRelay.Unit.Tests.Protocol;

/// <summary>
/// NIP-45's HyperLogLog: "take the first tag attribute in the filter ... its first item"; an id or pubkey as it is, an
/// address's pubkey, anything else hashed with sha256; "take the character at position 32 ... read that character as a
/// base-16 number ... add 8 to it: the result is the offset". Then "read the byte at position offset of the event
/// pubkey" for the register, and "count the number of leading zero bits starting at position offset+1 ... and add 1".
/// </summary>
public sealed class HyperLogLogTests
{
    private const string Id = "0000000000000000000000000000000" + "0" + "c" + "0000000000000000000000000000000";

    private static Filter WithTags(params TagFilter[] tags) => new() { Tags = tags, Kinds = [7] };

    [Fact]
    public void the_offset_comes_from_the_32nd_hex_digit_of_the_first_tag_value_plus_8()
    {
        var pubkey = new string('a', 32) + "3" + new string('b', 31);

        Assert.Equal(8 + 0xc, HyperLogLog.OffsetFor(WithTags(new TagFilter('e', [Id, pubkey]), new TagFilter('p', [pubkey]))));
        Assert.Equal(8 + 3, HyperLogLog.OffsetFor(WithTags(new TagFilter('p', [pubkey]))));
        Assert.Equal(8 + 3, HyperLogLog.OffsetFor(WithTags(new TagFilter('a', [$"30023:{pubkey}:my-article"]))));
        var hashed = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes("nostr")));
        Assert.Equal(8 + Convert.ToInt32(hashed[32].ToString(), 16), HyperLogLog.OffsetFor(WithTags(new TagFilter('t', ["nostr"]))));
        Assert.Null(HyperLogLog.OffsetFor(new Filter { Kinds = [1] }));
    }

    [Fact]
    public void a_pubkey_sets_the_register_its_offset_byte_names_to_its_leading_zero_bits_plus_one()
    {
        var hll = new HyperLogLog(10);
        // Bytes 10, 11, 12: register 0x2a, then a zero byte and 0x10 (three zero bits): 8 + 3 + 1 = 12.
        var pubkey = new string('f', 20) + "2a" + "00" + "10" + new string('f', 38);
        var smaller = new string('f', 20) + "2a" + "40" + new string('f', 40);   // one zero bit: 2

        hll.Add(smaller);
        hll.Add(pubkey);
        hll.Add(smaller);

        Assert.Equal(12, hll.Values[0x2a]);
        Assert.Equal(255, hll.Values.ToArray().Count(v => v == 0));
        Assert.Equal(512, hll.ToHex().Length);
    }

    [Fact]
    public void merging_keeps_the_higher_register_and_a_register_caps_at_seven_zero_bytes()
    {
        var hll = new HyperLogLog(8);
        var zeros = new string('1', 16) + "07" + new string('0', 46);   // register 7, then 23 zero hex digits (92 bits) to the end
        hll.Add(zeros);
        var other = new byte[HyperLogLog.Registers];
        other[7] = 3;
        other[8] = 5;

        hll.Merge(other);

        Assert.Equal(57, hll.Values[7]);   // seven bytes counted: 56 zero bits + 1
        Assert.Equal(5, hll.Values[8]);
    }
}
