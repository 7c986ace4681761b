using System.Security.Cryptography;
using Org.BouncyCastle.Asn1.X9;
using Org.BouncyCastle.Crypto.EC;
using Org.BouncyCastle.Math;
using Org.BouncyCastle.Math.EC;
using BcPoint = Org.BouncyCastle.Math.EC.ECPoint;

namespace NostrRelay.Crypto;

/// <summary>
/// BIP-340 verification on BouncyCastle's secp256k1 field arithmetic (about 5,800 a second on one core here, a
/// quarter of libsecp256k1): the fallback when libsecp256k1 is not installed, chosen over NBitcoin.Secp256k1
/// (<see cref="NBitcoinSchnorrVerifier"/>, about 4,400 a second) because it measured faster (docs/benchmarks.md).
/// Follows the BIP's verification algorithm step by step.
/// </summary>
public sealed class ManagedSchnorrVerifier : ISchnorrVerifier
{
    private static readonly X9ECParameters Curve = CustomNamedCurves.GetByName("secp256k1");
    private static readonly BigInteger FieldSize = Curve.Curve.Field.Characteristic;
    private static readonly byte[] ChallengeTagHash = SHA256.HashData("BIP0340/challenge"u8);

    public string Name => "managed (BouncyCastle)";

    public bool Verify(ReadOnlySpan<byte> signature64, ReadOnlySpan<byte> message32, ReadOnlySpan<byte> xOnlyPubkey32)
    {
        if (signature64.Length != 64 || message32.Length != 32 || xOnlyPubkey32.Length != 32) return false;
        var x = new BigInteger(1, xOnlyPubkey32);
        var r = new BigInteger(1, signature64[..32]);
        var s = new BigInteger(1, signature64[32..]);
        if (x.CompareTo(FieldSize) >= 0 || r.CompareTo(FieldSize) >= 0 || s.CompareTo(Curve.N) >= 0) return false;

        BcPoint p;
        try
        {
            Span<byte> compressed = stackalloc byte[33];
            compressed[0] = 0x02;   // lift_x: the point with this x and an even y.
            xOnlyPubkey32.CopyTo(compressed[1..]);
            p = Curve.Curve.DecodePoint(compressed.ToArray());
        }
        catch (ArgumentException)
        {
            return false;   // x is not on the curve.
        }

        Span<byte> challenge = stackalloc byte[64 + 32 + 32 + 32];
        ChallengeTagHash.CopyTo(challenge);
        ChallengeTagHash.CopyTo(challenge[32..]);
        signature64[..32].CopyTo(challenge[64..]);
        xOnlyPubkey32.CopyTo(challenge[96..]);
        message32.CopyTo(challenge[128..]);
        Span<byte> digest = stackalloc byte[32];
        SHA256.HashData(challenge, digest);
        var e = new BigInteger(1, digest).Mod(Curve.N);

        // R = s·G − e·P
        var point = ECAlgorithms.SumOfTwoMultiplies(Curve.G, s, p, Curve.N.Subtract(e)).Normalize();
        if (point.IsInfinity) return false;
        if (point.AffineYCoord.ToBigInteger().TestBit(0)) return false;
        return point.AffineXCoord.ToBigInteger().Equals(r);
    }
}
