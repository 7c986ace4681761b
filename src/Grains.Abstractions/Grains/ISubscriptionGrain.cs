using NostrRelay.Protocol;

namespace NostrRelay.Grains;

/// <summary>
/// Holds the live REQs of one gateway shard and matches events against them. Key: "{gatewayId}/{shard}".
/// Connections of a gateway are spread over its shards so matching runs on every core.
/// </summary>
public interface ISubscriptionGrain : IGrainWithStringKey
{
    /// <summary>
    /// Sets where matches go: the gateway shard's observer. Called at start and then every few seconds.
    /// Returns this activation's id: when it changes, the grain was re-activated (its silo died) and lost
    /// its subscriptions, and the gateway resumes them.
    /// </summary>
    Task<Guid> AttachAsync(IGatewayShardObserver observer);

    /// <summary>
    /// Registers (or replaces) a subscription and starts its catch-up: stored events, EOSE, then live
    /// events, all through the observer. Returns once the live filter is registered.
    /// </summary>
    Task SubscribeAsync(long connectionId, string subscriptionId, Filter[] filters);

    /// <summary>
    /// Re-registers a subscription this grain lost with a silo: live from now on, plus the stored events the
    /// client missed since <paramref name="from"/>; no second EOSE.
    /// </summary>
    Task ResumeAsync(long connectionId, string subscriptionId, Filter[] filters, ResumePoint from);

    /// <summary>Removes a subscription (CLOSE). Unknown ids are ignored.</summary>
    Task UnsubscribeAsync(long connectionId, string subscriptionId);

    /// <summary>Removes every subscription of a connection that went away.</summary>
    Task DisconnectAsync(long connectionId);

    /// <summary>Live events, in commit order per author, to match against the registered filters.</summary>
    Task PublishAsync(EventBatch batch);

    /// <summary>
    /// A connection reported as backlogged in a <see cref="DeliveryReceipt"/> (that <paramref name="episode"/>, or an
    /// earlier one) has read most of what was queued: its stored-event reads go on.
    /// </summary>
    Task DrainedAsync(long connectionId, int episode);

    /// <summary>
    /// Live events meant for this shard were lost on the way (the fan-out gave up on a batch): every subscription is
    /// ended with <c>CLOSED</c> and this reason, so no client is left with a silent gap.
    /// </summary>
    Task CloseAllAsync(string reason);
}
