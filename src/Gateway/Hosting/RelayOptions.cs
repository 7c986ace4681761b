using System.Text.Json.Nodes;
using NostrRelay.Policies;
using NostrRelay.Protocol;
using NostrRelay.Storage;

namespace NostrRelay.Hosting;

/// <summary>
/// The <c>Relay</c> configuration section: what the relay says about itself (NIP-11), the limits and policies it
/// enforces (every one advertised in the NIP-11 document exactly as enforced), and the hooks an embedder adds in
/// code. Hooks run in the gateway, before any grain call, in the order they were added; the configured built-in
/// policies run first. A hook list left empty costs nothing.
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

    /// <summary>NIP-11 <c>software</c>: the URL of the relay software's homepage, or null (left out: this build names none).</summary>
    public string? Software { get; set; }

    /// <summary>NIP-11 <c>banner</c> (an URL), or null.</summary>
    public string? Banner { get; set; }

    /// <summary>NIP-11 <c>privacy_policy</c> (an URL), or null.</summary>
    public string? PrivacyPolicy { get; set; }

    /// <summary>NIP-11 <c>terms_of_service</c> (an URL), or null.</summary>
    public string? TermsOfService { get; set; }

    /// <summary>NIP-11 <c>posting_policy</c> (an URL), or null.</summary>
    public string? PostingPolicy { get; set; }

    /// <summary>NIP-11 <c>relay_countries</c> (ISO 3166-1 alpha-2 codes), or null.</summary>
    public string[]? RelayCountries { get; set; }

    /// <summary>NIP-11 <c>language_tags</c> (IETF language tags), or null.</summary>
    public string[]? LanguageTags { get; set; }

    /// <summary>NIP-11 <c>tags</c> (e.g. "sfw-only"), or null.</summary>
    public string[]? Tags { get; set; }

    /// <summary>NIP-11 <c>payments_url</c>, or null. Information only: the relay does not take payments.</summary>
    public string? PaymentsUrl { get; set; }

    /// <summary>NIP-11 <c>fees</c>, or null. Information only: the relay does not check payments.</summary>
    public RelayFees? Fees { get; set; }

    /// <summary>Names this gateway's subscription shards. Default: a new random id per process, so a restarted gateway starts clean.</summary>
    public string? GatewayId { get; set; }

    /// <summary>Subscription grains per gateway. Default (null): the number of cores.</summary>
    public int? Shards { get; set; }

    public RelayLimits Limits { get; set; } = new();

    /// <summary>
    /// <c>Relay:Retention</c>: how long events of some kinds are kept; the silos' purge deletes older ones and NIP-11
    /// <c>retention</c> says so. Default: none (kept until deleted or expired).
    /// </summary>
    public List<RetentionRule> Retention { get; set; } = [];

    /// <summary>
    /// The URLs clients reach this relay at (<c>wss://relay.example.com</c>), which a NIP-42 AUTH event's <c>relay</c>
    /// tag must name. Default: none, and then the URL the client connected to (its Host header and path) is used.
    /// </summary>
    public string[]? PublicUrls { get; set; }

    /// <summary>The <c>Relay:Auth</c> section: NIP-42 and the private kinds it gates.</summary>
    public RelayAuthOptions Auth { get; set; } = new();

    /// <summary>NIP-86 relay management: who may call it.</summary>
    public RelayManagementOptions Management { get; set; } = new();

    /// <summary>NIP-77 negentropy: its limits, or off.</summary>
    public RelayNegentropyOptions Negentropy { get; set; } = new();

    /// <summary>The <c>Relay:Policies</c> section: moderation lists and the write-policy plugin.</summary>
    public RelayPolicyOptions Policies { get; set; } = new();

    /// <summary>
    /// Addresses (or CIDR networks) of reverse proxies whose <c>X-Forwarded-For</c> is believed, so per-IP limits and
    /// blocks see the client behind a Kubernetes ingress. Default: none (the socket's peer is the client).
    /// </summary>
    public string[]? TrustedProxies { get; set; }

    /// <summary>
    /// WebSocket handshakes for the relay's path answered on the raw connection, ahead of ASP.NET Core's request
    /// pipeline, so an open WebSocket keeps no HTTP request behind it (about 6 KB less per connection). The blocked
    /// addresses, the per-IP limit, <see cref="TrustedProxies"/> and ASP.NET's own forwarded headers still apply.
    /// Upgrades go through the pipeline anyway when something there must see them: a <see cref="RejectConnection"/>
    /// hook, allowed WebSocket origins, an AllowedHosts filter, authorization, host, CORS or rate-limiting rules on the
    /// relay's endpoint, Kestrel's limit on upgraded connections. Middleware of an embedder's own does not see the
    /// direct ones: set this false for it. Needs Kestrel; a TLS endpoint's connections go through the pipeline.
    /// Default true.
    /// </summary>
    public bool DirectWebSocketUpgrade { get; set; } = true;

    /// <summary>Vetoes a WebSocket request before the upgrade (address, headers).</summary>
    public List<ConnectionPolicy> RejectConnection { get; } = [];

    /// <summary>Vetoes a client's EVENT after its signature checked out.</summary>
    public EventPolicyList RejectEvent { get; } = new();

    /// <summary>Vetoes one filter of a REQ; the subscription is closed with the message.</summary>
    public List<FilterPolicy> RejectFilter { get; } = [];

    /// <summary>Replaces a filter the filter policies accepted.</summary>
    public List<FilterRewrite> RewriteFilter { get; } = [];

    /// <summary>Keeps an event (stored or live) from one subscriber.</summary>
    public List<DeliveryPolicy> RejectDelivery { get; } = [];

    /// <summary>Changes what one subscriber is sent.</summary>
    public List<OutgoingEventRewrite> RewriteOutgoingEvent { get; } = [];

    /// <summary>Told of each event a client sent that was stored (not duplicates); observes only, must not block.</summary>
    public List<Action<NostrEvent, ClientContext>> OnEventStored { get; } = [];

    /// <summary>Told of each connection once its WebSocket is open.</summary>
    public List<Action<ClientContext>> OnConnect { get; } = [];

    /// <summary>Told of each connection once it has ended.</summary>
    public List<Action<ClientContext>> OnDisconnect { get; } = [];

    /// <summary>Edits the NIP-11 document once, when the relay starts, after it was built from these options.</summary>
    public List<Action<JsonObject>> RewriteInformation { get; } = [];

    /// <summary>How often the relay pings an idle connection. Default 30 s.</summary>
    public TimeSpan PingInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>A connection that answers no ping for this long is closed. Default 60 s.</summary>
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>EVENTs one connection may have awaiting their OK; reading its socket pauses beyond that. Default 128.</summary>
    public int MaxEventsInFlight { get; set; } = 128;

    /// <summary>
    /// NIP-50 search: null (default) follows the event store this process opens (Sqlite and Memory search; every store
    /// of a composition must). A gateway-only process opens none: set true when the cluster's store searches.
    /// </summary>
    public bool? Search { get; set; }

    /// <summary>COUNTs (NIP-45) one connection may have awaiting their answer; reading its socket pauses beyond that. Default 4.</summary>
    public int MaxCountsInFlight { get; set; } = 4;

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
