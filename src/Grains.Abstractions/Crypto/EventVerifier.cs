using NostrRelay.Protocol;

namespace NostrRelay.Crypto;

/// <summary>Checks that an event's id is the hash of its canonical serialization and that its sig signs that id.</summary>
public sealed class EventVerifier(ISchnorrVerifier schnorr)
{
    public ISchnorrVerifier Schnorr => schnorr;

    /// <summary>Null when the event is authentic, else an "invalid: ..." reason for OK false.</summary>
    public string? Check(NostrEvent evt)
    {
        Span<byte> id = stackalloc byte[32];
        CanonicalJson.ComputeId(evt.Pubkey, evt.CreatedAt, evt.Kind, evt.Tags, evt.Content, id);
        Span<byte> claimed = stackalloc byte[32];
        Convert.FromHexString(evt.Id, claimed, out _, out _);
        if (!id.SequenceEqual(claimed)) return "invalid: event id does not match the hash of its content";
        Span<byte> pubkey = stackalloc byte[32];
        Convert.FromHexString(evt.Pubkey, pubkey, out _, out _);
        Span<byte> sig = stackalloc byte[64];
        Convert.FromHexString(evt.Sig, sig, out _, out _);
        return schnorr.Verify(sig, id, pubkey) ? null : "invalid: signature does not verify";
    }
}
