using System.Buffers;

namespace NostrRelay.Protocol;

/// <summary>Lowercase hex checks for ids, pubkeys and signatures (NIP-01 spells them in lowercase hex).</summary>
public static class Hex
{
    // Vectorized: every stored event read back checks three hex fields (id, pubkey, sig: 256 characters), and a
    // byte-at-a-time loop was 6 % of the relay's CPU answering REQs.
    private static readonly SearchValues<byte> LowerHexBytes = SearchValues.Create("0123456789abcdef"u8);
    private static readonly SearchValues<char> LowerHexChars = SearchValues.Create("0123456789abcdef");

    public static bool IsLowerHex(ReadOnlySpan<byte> utf8) => !utf8.ContainsAnyExcept(LowerHexBytes);

    public static bool IsLowerHex(ReadOnlySpan<char> text, int length) => text.Length == length && !text.ContainsAnyExcept(LowerHexChars);
}
