namespace NostrRelay.Streams;

/// <summary>
/// NIP-62, as the author's stream grain keeps it in grain storage: the newest request to vanish and whether everything
/// it covers is gone. Kept apart from the events, so no expiry, retention rule or deletion can lift it.
/// </summary>
[GenerateSerializer, Alias("relay.vanish-record")]
public sealed class VanishRecord
{
    /// <summary>The request's created_at: the author's events up to it are gone and refused. 0: never asked.</summary>
    [Id(0)] public long Until { get; set; }

    [Id(1)] public string? RequestId { get; set; }

    /// <summary>False from the moment the request is recorded until its purge finished; a new activation finishes it.</summary>
    [Id(2)] public bool Purged { get; set; }
}
