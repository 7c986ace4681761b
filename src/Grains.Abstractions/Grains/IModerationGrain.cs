namespace NostrRelay.Grains;

/// <summary>
/// The relay's NIP-86 moderation, one grain for the cluster (key 0): operators change it, gateways keep a copy and are
/// told of each change. A banned event is also removed from the store.
/// </summary>
public interface IModerationGrain : IGrainWithIntegerKey
{
    /// <summary>
    /// Registers (or renews, within a few minutes) a gateway's observer; returns the state, or null when the copy the
    /// gateway holds (<paramref name="epoch"/>, <paramref name="version"/>) is current.
    /// </summary>
    Task<ModerationState?> SubscribeAsync(IModerationObserver observer, Guid epoch, long version);

    /// <summary>Makes the change durable, tells every gateway, and returns the new state.</summary>
    Task<ModerationState> ApplyAsync(ModerationChange change);

    /// <summary>
    /// True the first time a NIP-98 authorization (by its signature) is presented anywhere in the cluster, false after:
    /// a header seen by one gateway cannot be replayed on another. Kept for <paramref name="forSeconds"/>.
    /// </summary>
    [Orleans.Concurrency.AlwaysInterleave]
    Task<bool> ClaimAuthorizationAsync(string signature, int forSeconds);
}
