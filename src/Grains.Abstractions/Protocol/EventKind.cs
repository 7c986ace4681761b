namespace NostrRelay.Protocol;

/// <summary>Kind numbers and the NIP-01 classes they fall into.</summary>
public static class EventKind
{
    public const int Metadata = 0;
    public const int TextNote = 1;
    public const int FollowList = 3;
    public const int Deletion = 5;
    public const int MaxKind = 65535;

    /// <summary>NIP-01: 0, 3 and 10000–19999 keep only the newest event per pubkey and kind.</summary>
    public static bool IsReplaceable(int kind) => kind == 0 || kind == 3 || (kind >= 10000 && kind < 20000);

    /// <summary>NIP-01: 20000–29999 are delivered live and never stored.</summary>
    public static bool IsEphemeral(int kind) => kind >= 20000 && kind < 30000;

    /// <summary>NIP-01: 30000–39999 keep only the newest event per pubkey, kind and d tag.</summary>
    public static bool IsAddressable(int kind) => kind >= 30000 && kind < 40000;

    public static bool IsRegular(int kind) => !IsReplaceable(kind) && !IsEphemeral(kind) && !IsAddressable(kind);
}
