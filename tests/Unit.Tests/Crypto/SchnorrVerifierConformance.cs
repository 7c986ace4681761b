using System.Numerics;
using System.Security.Cryptography;
using System.Text;
using NostrRelay.Crypto;
using NostrRelay.Unit.Tests.Fixtures;

namespace NostrRelay.Unit.Tests.Crypto;

/// <summary>
/// BIP-340 verification, judged by the BIP's own test vectors and by signatures nostr-tools made. Each
/// verifier gets the same cases; subclasses only say which verifier. Verify must return false, never throw,
/// for anything malformed.
/// </summary>
public abstract class SchnorrVerifierConformance
{
    internal static readonly BigInteger P = Parse("FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFC2F");
    internal static readonly BigInteger N = Parse("FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141");

    protected abstract ISchnorrVerifier Verifier { get; }

    public static TheoryData<string> Events => NostrToolsFixture.EventNames();

    public static TheoryData<int> Vectors()
    {
        var data = new TheoryData<int>();
        foreach (var v in Bip340Vector.All) data.Add(v.Index);
        return data;
    }

    [Theory, MemberData(nameof(Vectors))]
    public void gives_the_BIP340_test_vector_result(int index)
    {
        var v = Bip340Vector.All[index];
        Assert.Equal(v.Valid, Verifier.Verify(Convert.FromHexString(v.Signature), Convert.FromHexString(v.Message), Convert.FromHexString(v.PublicKey)));
    }

    [Theory, MemberData(nameof(Events))]
    public void accepts_the_signature_nostr_tools_made(string name)
    {
        var (sig, msg, pubkey) = Parts(NostrToolsFixture.Event(name));
        Assert.True(Verifier.Verify(sig, msg, pubkey));
    }

    [Theory, MemberData(nameof(Events))]
    public void rejects_the_signature_with_one_bit_flipped_in_r_and_in_s(string name)
    {
        var (sig, msg, pubkey) = Parts(NostrToolsFixture.Event(name));
        var bit = (int)SHA256.HashData(Encoding.UTF8.GetBytes(name))[0];   // varies per case, same in every run
        foreach (var at in new[] { bit, 256 + bit })
            Assert.False(Verifier.Verify(Flip(sig, at), msg, pubkey), $"bit {at} flipped");
    }

    [Fact]
    public void rejects_every_single_bit_flip_of_one_signature()
    {
        var (sig, msg, pubkey) = Parts(NostrToolsFixture.Event("plain ascii"));
        for (var at = 0; at < 512; at++)
            Assert.False(Verifier.Verify(Flip(sig, at), msg, pubkey), $"bit {at} flipped");
    }

    [Fact]
    public void rejects_a_wrong_message()
    {
        var (sig, msg, pubkey) = Parts(NostrToolsFixture.Event("plain ascii"));
        for (var at = 0; at < 256; at += 7)
            Assert.False(Verifier.Verify(sig, Flip(msg, at), pubkey), $"message bit {at} flipped");
        var other = NostrToolsFixture.Event("emoji");
        Assert.False(Verifier.Verify(sig, Convert.FromHexString(other.Id), pubkey));
        Assert.False(Verifier.Verify(sig, new byte[32], pubkey));
    }

    [Fact]
    public void rejects_a_wrong_pubkey()
    {
        var e = NostrToolsFixture.Event("plain ascii");
        var (sig, msg, _) = Parts(e);
        foreach (var (_, pubkey) in NostrToolsFixture.Keys)
            if (pubkey != e.Pubkey) Assert.False(Verifier.Verify(sig, msg, Convert.FromHexString(pubkey)), pubkey);
    }

    [Fact]
    public void rejects_a_pubkey_whose_x_is_not_on_the_curve()
    {
        var (sig, msg, pubkey) = Parts(NostrToolsFixture.Event("plain ascii"));
        var found = 0;
        for (var x = Parse(Convert.ToHexString(pubkey)); found < 5; x = (x + 1) % P)
        {
            if (IsOnCurve(x)) continue;
            Assert.False(Verifier.Verify(sig, msg, Bytes32(x)), $"x = {x:X}");
            found++;
        }
        Assert.False(Verifier.Verify(sig, msg, new byte[32]));   // x = 0: 7 is not a square mod p
    }

    [Fact]
    public void rejects_a_pubkey_x_at_or_above_the_field_size()
    {
        var (sig, msg, _) = Parts(NostrToolsFixture.Event("plain ascii"));
        foreach (var x in new[] { P, P + 1, P + 3, (BigInteger.One << 256) - 1 })
            Assert.False(Verifier.Verify(sig, msg, Bytes32(x)), $"x = {x:X}");
    }

    [Fact]
    public void rejects_r_at_or_above_the_field_size()
    {
        var (sig, msg, pubkey) = Parts(NostrToolsFixture.Event("plain ascii"));
        foreach (var r in new[] { P, P + 1, (BigInteger.One << 256) - 1 })
        {
            var bad = (byte[])sig.Clone();
            Bytes32(r).CopyTo(bad, 0);
            Assert.False(Verifier.Verify(bad, msg, pubkey), $"r = {r:X}");
        }
    }

    [Fact]
    public void rejects_s_at_or_above_the_curve_order()
    {
        var (sig, msg, pubkey) = Parts(NostrToolsFixture.Event("plain ascii"));
        foreach (var badS in new[] { N, N + 1, (BigInteger.One << 256) - 1 })
        {
            var bad = (byte[])sig.Clone();
            Bytes32(badS).CopyTo(bad, 32);
            Assert.False(Verifier.Verify(bad, msg, pubkey), $"s = {badS:X}");
        }
    }

    [Fact]
    public void rejects_all_zero_and_all_one_inputs()
    {
        var (sig, msg, pubkey) = Parts(NostrToolsFixture.Event("plain ascii"));
        Assert.False(Verifier.Verify(new byte[64], msg, pubkey));
        Assert.False(Verifier.Verify(Enumerable.Repeat((byte)0xFF, 64).ToArray(), msg, pubkey));
        Assert.False(Verifier.Verify(sig, msg, Enumerable.Repeat((byte)0xFF, 32).ToArray()));
    }

    [Fact]
    public void returns_false_for_wrong_lengths_instead_of_throwing()
    {
        var (sig, msg, pubkey) = Parts(NostrToolsFixture.Event("plain ascii"));
        Assert.False(Verifier.Verify(sig.AsSpan(0, 63), msg, pubkey));
        Assert.False(Verifier.Verify([.. sig, 0], msg, pubkey));
        Assert.False(Verifier.Verify(sig, msg.AsSpan(0, 31), pubkey));
        Assert.False(Verifier.Verify(sig, [.. msg, 0], pubkey));
        Assert.False(Verifier.Verify(sig, msg, pubkey.AsSpan(0, 31)));
        Assert.False(Verifier.Verify(sig, msg, [0x02, .. pubkey]));
        Assert.False(Verifier.Verify([], [], []));
    }

    [Fact]
    public void can_be_used_from_many_threads_at_once()
    {
        var events = NostrToolsFixture.Events;
        Parallel.For(0, events.Count * 4, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i =>
        {
            var (sig, msg, pubkey) = Parts(events[i % events.Count]);
            var valid = i % 2 == 0;
            if (!valid) sig = Flip(sig, i % 512);
            Assert.Equal(valid, Verifier.Verify(sig, msg, pubkey));
        });
    }

    [Fact]
    public void keys_seen_before_and_keys_that_replace_them_keep_their_own_answers()
    {
        // 300 keys: dozens of pairs share a slot of a 1,024-entry cache of parsed keys, so keys replace each other.
        var signer = NostrRelay.Testing.NativeSchnorrSigner.Shared;
        var keys = new List<(byte[] Pubkey, byte[] Msg, byte[] Sig)>();
        for (var i = 0; i < 300; i++)
        {
            var secret = SHA256.HashData(Encoding.UTF8.GetBytes($"key {i}"));
            var msg = SHA256.HashData(Encoding.UTF8.GetBytes($"message {i}"));
            keys.Add((Convert.FromHexString(signer.PublicKeyHex(secret)), msg, signer.SignMessage(secret, msg)));
        }
        for (var round = 0; round < 2; round++)
        {
            for (var i = 0; i < keys.Count; i++)
            {
                var (pubkey, msg, sig) = keys[i];
                var other = keys[(i * 7 + 1) % keys.Count];
                Assert.True(Verifier.Verify(sig, msg, pubkey), $"key {i}, round {round}");
                Assert.False(Verifier.Verify(other.Sig, other.Msg, pubkey), $"key {i} with key {(i * 7 + 1) % keys.Count}'s signature");
                Assert.False(Verifier.Verify(Flip(sig, i % 512), msg, pubkey), $"key {i}, flipped");
            }
        }
    }

    internal static (byte[] Sig, byte[] Msg, byte[] Pubkey) Parts(FixtureEvent e) =>
        (Convert.FromHexString(e.Sig), Convert.FromHexString(e.Id), Convert.FromHexString(e.Pubkey));

    internal static byte[] Flip(byte[] bytes, int bit)
    {
        var copy = (byte[])bytes.Clone();
        copy[bit / 8] ^= (byte)(0x80 >> (bit % 8));
        return copy;
    }

    private static BigInteger Parse(string hex) => new(Convert.FromHexString(hex), isUnsigned: true, isBigEndian: true);

    private static byte[] Bytes32(BigInteger value)
    {
        var bytes = value.ToByteArray(isUnsigned: true, isBigEndian: true);
        return [.. new byte[32 - bytes.Length], .. bytes];
    }

    /// <summary>x is the x of a curve point when x³ + 7 is a square mod p (Euler's criterion).</summary>
    private static bool IsOnCurve(BigInteger x) => BigInteger.ModPow((x * x * x + 7) % P, (P - 1) / 2, P).IsOne;
}

public sealed class NativeSchnorrVerifierTests : SchnorrVerifierConformance
{
    internal static readonly NativeSchnorrVerifier Native = NativeSchnorrVerifier.TryCreate()
        ?? throw new InvalidOperationException($"{NativeSchnorrVerifier.LibraryName} did not load: install Debian's libsecp256k1-1.");

    protected override ISchnorrVerifier Verifier => Native;

    [Fact]
    public void is_what_SchnorrVerifier_Default_picks_when_the_library_is_installed()
    {
        Assert.Equal("libsecp256k1", SchnorrVerifier.Default.Name);
    }
}

public sealed class ManagedSchnorrVerifierTests : SchnorrVerifierConformance
{
    internal static readonly ManagedSchnorrVerifier Managed = new();

    protected override ISchnorrVerifier Verifier => Managed;
}

public sealed class NBitcoinSchnorrVerifierTests : SchnorrVerifierConformance
{
    internal static readonly NBitcoinSchnorrVerifier Managed = new();

    protected override ISchnorrVerifier Verifier => Managed;
}
