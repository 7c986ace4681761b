namespace NostrRelay.Benchmarks.Client;

/// <summary>
/// The first 64 bits of an event id, read from its hex: enough to tell apart the events of one run (SHA-256
/// output; collisions among 10^5 ids have odds of about 10^-9) and looked up without allocating a string.
/// </summary>
internal static class IdKey
{
    public static ulong From(ReadOnlySpan<byte> hexUtf8)
    {
        if (hexUtf8.Length < 16) return 0;
        ulong key = 0;
        for (var i = 0; i < 16; i++) key = (key << 4) | Nibble(hexUtf8[i]);
        return key;
    }

    public static ulong From(string hex)
    {
        ulong key = 0;
        for (var i = 0; i < 16; i++) key = (key << 4) | Nibble((byte)hex[i]);
        return key;
    }

    private static ulong Nibble(byte c) => c switch
    {
        >= (byte)'0' and <= (byte)'9' => (ulong)(c - '0'),
        >= (byte)'a' and <= (byte)'f' => (ulong)(c - 'a' + 10),
        >= (byte)'A' and <= (byte)'F' => (ulong)(c - 'A' + 10),
        _ => 0,
    };
}
