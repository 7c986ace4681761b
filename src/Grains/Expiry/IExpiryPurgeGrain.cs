namespace NostrRelay.Expiry;

/// <summary>The one purge of expired events (NIP-40) in a cluster. Key: 0.</summary>
internal interface IExpiryPurgeGrain : IGrainWithIntegerKey
{
    /// <summary>Activates the grain (its timer then runs by itself); every silo calls it now and then, so it comes back after a failover.</summary>
    Task StartAsync();
}
