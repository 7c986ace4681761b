namespace NostrRelay.Sync;

/// <summary>What a range's payload is.</summary>
internal static class NegentropyMode
{
    public const ulong Skip = 0, Fingerprint = 1, IdList = 2;
}
