namespace NostrRelay.Grains;

/// <summary>
/// Answers NIP-45 COUNT from the event store. A stateless worker on the caller's silo: a count holds no state, and
/// many run at once, each off the grain's turn, so a long count never delays another client's.
/// </summary>
public interface ICountGrain : IGrainWithIntegerKey
{
    Task<CountResult> CountAsync(CountRequest request);
}
