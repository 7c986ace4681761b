using System.Security.Cryptography;
using NostrRelay.Protocol;
using NostrRelay.Testing;

namespace NostrRelay.Grains.Tests;

/// <summary>A fresh key per test, signing real events with libsecp256k1.</summary>
public sealed class Author
{
    private static readonly NativeSchnorrSigner Signer = new();
    private readonly byte[] _secretKey = RandomNumberGenerator.GetBytes(32);
    private static long _clock = DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 100_000;

    public Author() => Pubkey = Signer.PublicKeyHex(_secretKey);

    public string Pubkey { get; }

    public NostrEvent Note(string content, long? createdAt = null, int kind = 1, string[][]? tags = null) =>
        Signer.Sign(_secretKey, createdAt ?? Interlocked.Increment(ref _clock), kind, tags ?? [], content);
}
