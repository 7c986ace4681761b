namespace NostrRelay.Crypto;

/// <summary>Verifies BIP-340 Schnorr signatures over a 32-byte message (a Nostr event id).</summary>
public interface ISchnorrVerifier
{
    /// <summary>"libsecp256k1" or "managed (BouncyCastle)", for logs and benchmarks.</summary>
    string Name { get; }

    /// <summary>Thread-safe. False for any malformed key or signature; never throws for bad input.</summary>
    bool Verify(ReadOnlySpan<byte> signature64, ReadOnlySpan<byte> message32, ReadOnlySpan<byte> xOnlyPubkey32);
}
