namespace NostrRelay.Protocol;

/// <summary>Lowercase hex checks for ids, pubkeys and signatures (NIP-01 spells them in lowercase hex).</summary>
public static class Hex
{
    public static bool IsLowerHex(ReadOnlySpan<byte> utf8)
    {
        foreach (var b in utf8)
            if (!((b >= (byte)'0' && b <= (byte)'9') || (b >= (byte)'a' && b <= (byte)'f'))) return false;
        return true;
    }

    public static bool IsLowerHex(ReadOnlySpan<char> text, int length)
    {
        if (text.Length != length) return false;
        foreach (var c in text)
            if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
        return true;
    }
}
