namespace NostrRelay.Grains;

/// <summary>
/// Reads what NIP-77 reconciles: the <c>(created_at, id)</c> of every event a filter matches, never the events. A
/// stateless worker on the caller's silo, the read off the grain's turn; the gateway keeps the session.
/// </summary>
public interface INegentropyGrain : IGrainWithIntegerKey
{
    /// <remarks>A million records take a few seconds to read from a store: longer than a call's default timeout.</remarks>
    [ResponseTimeout("00:00:40")]
    Task<NegentropyRead> ReadAsync(NegentropyRequest request);
}
