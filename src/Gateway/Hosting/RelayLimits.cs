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
}
