using NostrRelay.Crypto;
using NostrRelay.Protocol;
using NostrRelay.Testing;
using NostrRelay.Unit.Tests.Crypto;
using NostrRelay.Unit.Tests.Fixtures;

namespace NostrRelay.Unit.Tests.Testing;

/// <summary>The test-only signer makes events the relay and nostr-tools agree on: same pubkeys, same ids,
/// signatures both verifiers accept.</summary>
public sealed class NativeSchnorrSignerTests
{
    private static readonly NativeSchnorrSigner Signer = NativeSchnorrSigner.Shared;

    public static TheoryData<string> Events => NostrToolsFixture.EventNames();

    [Fact]
    public void pubkeys_match_nostr_tools_getPublicKey()
    {
        Assert.NotEmpty(NostrToolsFixture.Keys);
        foreach (var (sk, pubkey) in NostrToolsFixture.Keys)
            Assert.Equal(pubkey, Signer.PublicKeyHex(Convert.FromHexString(sk)));
    }

    [Theory, MemberData(nameof(Events))]
    public void signs_the_fixture_event_with_the_id_nostr_tools_computed_and_a_valid_signature(string name)
    {
        var e = NostrToolsFixture.Event(name);
        var evt = Signer.Sign(Convert.FromHexString(e.SecretKey), e.CreatedAt, e.Kind, e.Tags, e.Content);
        Assert.Equal(e.Id, evt.Id);
        Assert.Equal(e.Pubkey, evt.Pubkey);
        Assert.Null(new EventVerifier(NativeSchnorrVerifierTests.Native).Check(evt));
        Assert.Null(new EventVerifier(ManagedSchnorrVerifierTests.Managed).Check(evt));
        Assert.Equal(e.Json.Replace(e.Sig, evt.Sig, StringComparison.Ordinal), evt.JsonText);
    }

    [Fact]
    public void signing_is_deterministic()
    {
        var sk = Convert.FromHexString(NostrToolsFixture.Keys[4].SecretKey);
        var a = Signer.Sign(sk, 1_700_000_000, EventKind.TextNote, [["t", "x"]], "same");
        var b = Signer.Sign(sk, 1_700_000_000, EventKind.TextNote, [["t", "x"]], "same");
        Assert.Equal(a.Sig, b.Sig);
        Assert.Equal(a.Json, b.Json);
    }

    public static TheoryData<int> SigningVectors()
    {
        var data = new TheoryData<int>();
        foreach (var v in Bip340Vector.All)
            if (v.SecretKey is not null) data.Add(v.Index);
        return data;
    }

    [Theory, MemberData(nameof(SigningVectors))]
    public void reproduces_the_BIP340_signing_vectors(int index)
    {
        var v = Bip340Vector.All[index];
        var sk = Convert.FromHexString(v.SecretKey!);
        Assert.Equal(v.PublicKey, Signer.PublicKeyHex(sk), ignoreCase: true);
        Assert.Equal(v.Signature, Convert.ToHexString(Signer.SignMessage(sk, Convert.FromHexString(v.Message), Convert.FromHexString(v.AuxRand!))));
    }

    [Fact]
    public void no_aux_randomness_signs_as_32_zero_bytes_do()
    {
        var v = Bip340Vector.All[0];
        Assert.Equal(v.Signature, Convert.ToHexString(Signer.SignMessage(Convert.FromHexString(v.SecretKey!), Convert.FromHexString(v.Message))));
    }

    [Fact]
    public void refuses_secret_keys_outside_the_scalar_range()
    {
        Assert.Throws<ArgumentException>(() => Signer.PublicKeyHex(new byte[32]));
        Assert.Throws<ArgumentException>(() => Signer.PublicKeyHex(Convert.FromHexString("FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141")));
        Assert.Throws<ArgumentException>(() => Signer.PublicKeyHex(new byte[31]));
    }
}
