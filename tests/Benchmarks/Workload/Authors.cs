using NostrRelay.Testing;

namespace NostrRelay.Benchmarks.Workload;

/// <summary>
/// A fixed set of key pairs from a seed, so every run publishes the same authors. A random 32-byte string
/// is a valid secret key unless it is zero or not below the curve order (odds about 2^-128); such a draw
/// is simply replaced by the next.
/// </summary>
internal sealed class Authors
{
    private Authors(byte[][] secretKeys, string[] pubkeys)
    {
        SecretKeys = secretKeys;
        Pubkeys = pubkeys;
    }

    public byte[][] SecretKeys { get; }

    /// <summary>64 lowercase hex characters each, as the relay and its filters spell them.</summary>
    public string[] Pubkeys { get; }

    public int Count => Pubkeys.Length;

    public static Authors Create(int count, int seed)
    {
        var random = new Random(seed);
        var secretKeys = new byte[count][];
        var pubkeys = new string[count];
        for (var i = 0; i < count; i++)
        {
            while (true)
            {
                var secretKey = new byte[32];
                random.NextBytes(secretKey);
                try
                {
                    pubkeys[i] = NativeSchnorrSigner.Shared.PublicKeyHex(secretKey);
                    secretKeys[i] = secretKey;
                    break;
                }
                catch (ArgumentException)
                {
                }
            }
        }
        return new Authors(secretKeys, pubkeys);
    }

    /// <summary>Pubkeys that belong to nobody here, for <c>p</c> tags: any 32 bytes of hex will do for a tag filter.</summary>
    public static string[] RandomPubkeys(int count, int seed)
    {
        var random = new Random(seed);
        var pubkeys = new string[count];
        var bytes = new byte[32];
        for (var i = 0; i < count; i++)
        {
            random.NextBytes(bytes);
            pubkeys[i] = Convert.ToHexStringLower(bytes);
        }
        return pubkeys;
    }
}
