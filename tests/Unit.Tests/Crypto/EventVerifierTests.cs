using NostrRelay.Crypto;
using NostrRelay.Protocol;
using NostrRelay.Unit.Tests.Fixtures;

namespace NostrRelay.Unit.Tests.Crypto;

/// <summary>NIP-01: the id must be the SHA-256 of the canonical serialization, and sig a BIP-340 signature of
/// that id by pubkey. A failure is an "invalid: ..." reason for OK false.</summary>
public sealed class EventVerifierTests
{
    private const string WrongId = "invalid: event id does not match the hash of its content";
    private const string WrongSig = "invalid: signature does not verify";

    public static TheoryData<string> Events => NostrToolsFixture.EventNames();

    public static TheoryData<string> Verifiers() => new() { "native", "managed", "nbitcoin" };

    private static EventVerifier For(string verifier) => new(verifier switch
    {
        "native" => NativeSchnorrVerifierTests.Native,
        "nbitcoin" => NBitcoinSchnorrVerifierTests.Managed,
        _ => ManagedSchnorrVerifierTests.Managed,
    });

    private static NostrEvent Read(FixtureEvent e) => EventReader.Parse(System.Text.Encoding.UTF8.GetBytes(e.Json));

    [Theory, MemberData(nameof(Events))]
    public void accepts_every_event_nostr_tools_signed(string name)
    {
        var evt = Read(NostrToolsFixture.Event(name));
        Assert.Null(For("native").Check(evt));
        Assert.Null(For("managed").Check(evt));
        Assert.Null(For("nbitcoin").Check(evt));
    }

    [Theory, MemberData(nameof(Verifiers))]
    public void rejects_an_id_that_is_not_the_hash(string verifier)
    {
        var e = Read(NostrToolsFixture.Event("plain ascii"));
        var flipped = Convert.ToHexStringLower(SchnorrVerifierConformance.Flip(Convert.FromHexString(e.Id), 255));
        Assert.Equal(WrongId, For(verifier).Check(e with { Id = flipped }));
        Assert.Equal(WrongId, For(verifier).Check(e with { Id = NostrToolsFixture.Event("emoji").Id }));
    }

    [Theory, MemberData(nameof(Verifiers))]
    public void rejects_content_changed_after_signing(string verifier)
    {
        var e = Read(NostrToolsFixture.Event("plain ascii"));
        Assert.Equal(WrongId, For(verifier).Check(e with { Content = e.Content + " " }));
        Assert.Equal(WrongId, For(verifier).Check(e with { CreatedAt = e.CreatedAt + 1 }));
        Assert.Equal(WrongId, For(verifier).Check(e with { Tags = [.. e.Tags, ["t", "extra"]] }));
    }

    [Theory, MemberData(nameof(Verifiers))]
    public void rejects_a_signature_that_does_not_sign_the_id(string verifier)
    {
        var e = Read(NostrToolsFixture.Event("plain ascii"));
        var flipped = Convert.ToHexStringLower(SchnorrVerifierConformance.Flip(Convert.FromHexString(e.Sig), 300));
        Assert.Equal(WrongSig, For(verifier).Check(e with { Sig = flipped }));
        Assert.Equal(WrongSig, For(verifier).Check(e with { Sig = NostrToolsFixture.Event("emoji").Sig }));
        Assert.Equal(WrongSig, For(verifier).Check(e with { Sig = new string('0', 128) }));
    }

    [Theory, MemberData(nameof(Verifiers))]
    public void rejects_a_signature_by_another_key_even_when_the_id_is_recomputed(string verifier)
    {
        var e = Read(NostrToolsFixture.Event("plain ascii"));
        var other = NostrToolsFixture.Keys.First(k => k.Pubkey != e.Pubkey).Pubkey;
        var id = CanonicalJson.ComputeIdHex(other, e.CreatedAt, e.Kind, e.Tags, e.Content);
        Assert.Equal(WrongSig, For(verifier).Check(CanonicalJson.CreateEvent(id, other, e.CreatedAt, e.Kind, e.Tags, e.Content, e.Sig)));
    }
}
