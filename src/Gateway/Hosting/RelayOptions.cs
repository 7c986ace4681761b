namespace NostrRelay.Hosting;

/// <summary>
/// The <c>Relay</c> configuration section: what the relay says about itself (NIP-11) and the limits it
/// enforces. Every limit here is advertised in the NIP-11 document exactly as enforced.
/// </summary>
public sealed class RelayOptions
{
    /// <summary>NIP-11 <c>name</c>.</summary>
    public string Name { get; set; } = "Orleans Nostr relay";

    /// <summary>NIP-11 <c>description</c>.</summary>
    public string Description { get; set; } = "A Nostr relay on Microsoft Orleans.";

    /// <summary>NIP-11 <c>pubkey</c> of the operator (64 hex), or null.</summary>
    public string? Pubkey { get; set; }

    /// <summary>NIP-11 <c>contact</c> (an URI), or null.</summary>
    public string? Contact { get; set; }

    /// <summary>NIP-11 <c>icon</c> (an URL), or null.</summary>
    public string? Icon { get; set; }

    /// <summary>Names this gateway's subscription shards. Default: a new random id per process, so a restarted gateway starts clean.</summary>
    public string? GatewayId { get; set; }

    /// <summary>Subscription grains per gateway. Default (null): the number of cores.</summary>
    public int? Shards { get; set; }

    public RelayLimits Limits { get; set; } = new();

    /// <summary>How often the relay pings an idle connection. Default 30 s.</summary>
    public TimeSpan PingInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>A connection that answers no ping for this long is closed. Default 60 s.</summary>
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>EVENTs one connection may have awaiting their OK; reading its socket pauses beyond that. Default 128.</summary>
    public int MaxEventsInFlight { get; set; } = 128;

    /// <summary>
    /// Memory queued for one connection (frames' pooled buffers) before the subscription that would pass it is closed;
    /// past a quarter of it, the connection's REQs stop reading stored events until it catches up. Default 16 MiB.
    /// </summary>
    public long MaxOutboundBytes { get; set; } = 16 * 1024 * 1024;

    /// <summary>
    /// A connection whose every subscription was closed for reading too slowly, and that has still not read what
    /// is queued for it this long after, is closed (1008) and its queue freed. Default 10 s.
    /// </summary>
    public TimeSpan SlowConsumerGrace { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How often each gateway shard checks in with its subscription grain. A grain re-activated after its
    /// silo died is found by this and given its REQs back: it bounds how long live events pause in a failover.
    /// Default 1 s; between 100 ms and 1 minute.
    /// </summary>
    public TimeSpan ShardCheckInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>On shutdown, how long in-flight EVENTs may take to get their OK before sockets close. Default 10 s.</summary>
    public TimeSpan ShutdownDrainTimeout { get; set; } = TimeSpan.FromSeconds(10);
}
