namespace NostrRelay.Hosting;

/// <summary>The <c>Relay:Limits</c> section; each one is the NIP-11 <c>limitation</c> field named beside it.</summary>
public sealed class RelayLimits
{
    /// <summary><c>max_message_length</c>: bytes in one WebSocket message. Larger ones are refused before they are buffered. Default 256 KiB.</summary>
    public int MaxMessageBytes { get; set; } = 256 * 1024;

    /// <summary><c>max_subscriptions</c>: open REQs per connection. Default 50.</summary>
    public int MaxSubscriptions { get; set; } = 50;

    /// <summary><c>max_filters</c>: filters in one REQ. Default 20.</summary>
    public int MaxFilters { get; set; } = 20;

    /// <summary>
    /// Values one filter may list, over all its lists (ids, authors, kinds, every <c>#x</c>); a REQ past it gets
    /// <c>CLOSED "invalid: filter has more than N values"</c>. Default 5,000, enough for a large follow list. NIP-11
    /// has no field for it (<c>max_filters</c> is the number of filters in a REQ), so it is not advertised.
    /// </summary>
    public int MaxFilterValues { get; set; } = 5_000;

    /// <summary><c>max_limit</c>: a filter's limit is lowered to this. Default 5000.</summary>
    public int MaxLimit { get; set; } = 5000;

    /// <summary><c>default_limit</c>: the limit of a filter that names none. Default 500.</summary>
    public int DefaultLimit { get; set; } = 500;

    /// <summary><c>max_subid_length</c>: characters in a subscription id. Default 64 (NIP-01's maximum).</summary>
    public int MaxSubscriptionIdLength { get; set; } = 64;

    /// <summary><c>max_event_tags</c>: tags in one event. Default 2500 (large follow lists stay publishable).</summary>
    public int MaxEventTags { get; set; } = 2500;

    /// <summary><c>max_content_length</c>: Unicode characters in an event's content. Default 100,000.</summary>
    public int MaxContentLength { get; set; } = 100_000;

    /// <summary>
    /// <c>min_pow_difficulty</c> (NIP-13): leading zero bits an event id must have, and the least target a <c>nonce</c>
    /// tag may commit to; <c>pow:</c> otherwise. Default: none.
    /// </summary>
    public int? MinPowDifficulty { get; set; }

    /// <summary><c>created_at_lower_limit</c>: how many seconds in the past an event's created_at may be; <c>invalid:</c> otherwise. Default: no limit.</summary>
    public long? CreatedAtLowerLimit { get; set; }

    /// <summary><c>created_at_upper_limit</c>: how many seconds in the future an event's created_at may be; <c>invalid:</c> otherwise. Default 900.</summary>
    public long? CreatedAtUpperLimit { get; set; } = 900;

    /// <summary>EVENTs per second one client address may send (a token bucket); <c>rate-limited:</c> past it. Default: no limit.</summary>
    public double? EventsPerSecondPerIp { get; set; }

    /// <summary>EVENTs one address may send at once before <see cref="EventsPerSecondPerIp"/> applies. Default: ten seconds' worth.</summary>
    public int? EventsBurstPerIp { get; set; }

    /// <summary>EVENTs per second one author may publish, over all connections of this gateway. Default: no limit.</summary>
    public double? EventsPerSecondPerPubkey { get; set; }

    /// <summary>EVENTs one author may publish at once before <see cref="EventsPerSecondPerPubkey"/> applies. Default: ten seconds' worth.</summary>
    public int? EventsBurstPerPubkey { get; set; }

    /// <summary>
    /// EVENTs per second from the connections that proved one pubkey with NIP-42 AUTH, over all connections of this
    /// gateway (the event's author when proved, else the first pubkey proved). Default: no limit.
    /// </summary>
    public double? EventsPerSecondPerAuthedPubkey { get; set; }

    /// <summary>EVENTs at once before <see cref="EventsPerSecondPerAuthedPubkey"/> applies. Default: ten seconds' worth.</summary>
    public int? EventsBurstPerAuthedPubkey { get; set; }

    /// <summary>REQs per second one client address may open; <c>CLOSED "rate-limited: ..."</c> past it. Default: no limit.</summary>
    public double? ReqsPerSecondPerIp { get; set; }

    /// <summary>REQs one address may open at once before <see cref="ReqsPerSecondPerIp"/> applies. Default: ten seconds' worth.</summary>
    public int? ReqsBurstPerIp { get; set; }

    /// <summary>Open WebSockets per client address on this gateway; more are refused with HTTP 429. Default: no limit.</summary>
    public int? ConnectionsPerIp { get; set; }
}
