using NostrRelay.Protocol;

namespace NostrRelay.Grains;

/// <summary>
/// Holds the live REQs of one gateway shard and matches events against them. Key: "{gatewayId}/{shard}".
/// Connections of a gateway are spread over its shards so matching runs on every core.
/// </summary>
public interface ISubscriptionGrain : IGrainWithStringKey
{
    /// <summary>Sets where matches go: the gateway shard's observer. Called at start and then periodically, so a re-activated grain finds it again.</summary>
    Task AttachAsync(IGatewayShardObserver observer);

    /// <summary>
    /// Registers (or replaces) a subscription and starts its catch-up: stored events, EOSE, then live
    /// events, all through the observer. Returns once the live filter is registered.
    /// </summary>
    Task SubscribeAsync(long connectionId, string subscriptionId, Filter[] filters);

    /// <summary>Removes a subscription (CLOSE). Unknown ids are ignored.</summary>
    Task UnsubscribeAsync(long connectionId, string subscriptionId);

    /// <summary>Removes every subscription of a connection that went away.</summary>
    Task DisconnectAsync(long connectionId);

    /// <summary>Live events, in commit order per author, to match against the registered filters.</summary>
    Task PublishAsync(EventBatch batch);
}
