using NostrRelay.Protocol;

namespace NostrRelay.Unit.Tests.Protocol;

/// <summary>NIP-13: "The difficulty is defined to be the number of leading zero bits in the NIP-01 id."</summary>
public sealed class ProofOfWorkTests
{
    [Theory]
    // The NIP-13 text's own example: "000006d8..." has a difficulty of 21.
    [InlineData("000006d8c378af1779d2feebc7603a125d99eca0ccf1085959b307f64e5dd358", 21)]
    [InlineData("8000000000000000000000000000000000000000000000000000000000000000", 0)]
    [InlineData("7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff", 1)]
    [InlineData("3000000000000000000000000000000000000000000000000000000000000000", 2)]
    [InlineData("1000000000000000000000000000000000000000000000000000000000000000", 3)]
    [InlineData("0f00000000000000000000000000000000000000000000000000000000000000", 4)]
    [InlineData("0000000000000000000000000000000000000000000000000000000000000000", 256)]
    public void the_difficulty_is_the_ids_leading_zero_bits(string id, int difficulty) =>
        Assert.Equal(difficulty, ProofOfWork.Difficulty(id));

    [Fact]
    public void the_committed_target_is_the_nonce_tags_third_entry()
    {
        Assert.Equal(20, ProofOfWork.CommittedTarget(Event(["nonce", "776797", "20"])));
        Assert.Null(ProofOfWork.CommittedTarget(Event(["nonce", "776797"])));
        Assert.Null(ProofOfWork.CommittedTarget(Event(["t", "x", "20"])));
        Assert.Equal(0, ProofOfWork.CommittedTarget(Event(["nonce", "1", "twenty"])));
    }

    private static NostrEvent Event(string[] tag) => new(new string('0', 64), new string('1', 64), 1, 1, [tag], "", new string('2', 128), []);
}
