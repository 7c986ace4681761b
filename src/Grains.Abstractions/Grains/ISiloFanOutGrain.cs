namespace NostrRelay.Grains;

/// <summary>
/// One silo's inbox for live events committed on other silos. Key: the silo's address; the grain lives
/// on that silo and nowhere else. An event crosses the network once per silo, then fans out there to
/// every local subscription shard, however many gateways those serve.
/// </summary>
public interface ISiloFanOutGrain : IGrainWithStringKey
{
    /// <summary>Events from one other silo, in the order that silo committed them.</summary>
    Task PublishAsync(EventBatch batch);
}
