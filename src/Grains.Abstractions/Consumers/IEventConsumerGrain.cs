namespace NostrRelay.Consumers;

/// <summary>
/// Runs one named consumer: reads the log from its bookmark, hands events to its handler, and persists the
/// bookmark in grain storage. Key: the consumer's name. One activation in the cluster, so one reader.
/// </summary>
public interface IEventConsumerGrain : IGrainWithStringKey
{
    /// <summary>Activates the consumer; it then polls by itself.</summary>
    Task StartAsync();

    /// <summary>The position of the last event handled and saved (0 before the first).</summary>
    Task<long> GetPositionAsync();
}
