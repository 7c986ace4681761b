using NBitcoin.Secp256k1;

namespace NostrRelay.Crypto;

/// <summary>
/// BIP-340 verification by NBitcoin.Secp256k1, a C# port of libsecp256k1's arithmetic (the design names the package).
/// It passes the same conformance as the others, but measured slower here than BouncyCastle's
/// (<see cref="ManagedSchnorrVerifier"/>), so it is not the default fallback; an embedder may register it as the
/// <see cref="ISchnorrVerifier"/>. Malformed keys and signatures are refused by its parsers, never thrown.
/// </summary>
public sealed class NBitcoinSchnorrVerifier : ISchnorrVerifier
{
    public string Name => "managed (NBitcoin.Secp256k1)";

    public bool Verify(ReadOnlySpan<byte> signature64, ReadOnlySpan<byte> message32, ReadOnlySpan<byte> xOnlyPubkey32)
    {
        if (signature64.Length != 64 || message32.Length != 32 || xOnlyPubkey32.Length != 32) return false;
        if (!ECXOnlyPubKey.TryCreate(xOnlyPubkey32, out var pubkey) || pubkey is null) return false;
        if (!SecpSchnorrSignature.TryCreate(signature64, out var signature) || signature is null) return false;
        return pubkey.SigVerifyBIP340(signature, message32);
    }
}
