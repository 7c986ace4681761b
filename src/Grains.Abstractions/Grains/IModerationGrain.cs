namespace NostrRelay.Grains;

/// <summary>
/// The relay's NIP-86 moderation, one grain for the cluster (key 0): operators change it, gateways keep a copy and are
/// told of each change. A banned event is also removed from the store.
/// </summary>
public interface IModerationGrain : IGrainWithIntegerKey
{
    /// <summary>Registers (or renews, within a few minutes) a gateway's observer; returns the state as it is.</summary>
    Task<ModerationState> SubscribeAsync(IModerationObserver observer);

    /// <summary>Makes the change durable, tells every gateway, and returns the new state.</summary>
    Task<ModerationState> ApplyAsync(ModerationChange change);
}
