using NostrRelay.Protocol;

namespace NostrRelay.Subscriptions;

/// <summary>One REQ of one connection while it is registered in a subscription grain.</summary>
internal sealed class LiveSubscription(ShardConnection connection, string subscriptionId, Filter[] filters)
{
    public ShardConnection Connection { get; } = connection;
    public long ConnectionId => Connection.Id;
    public string SubscriptionId { get; } = subscriptionId;
    public Filter[] Filters { get; } = filters;

    /// <summary>False once CLOSE, a replacing REQ or a disconnect removed it; a running catch-up then stops.</summary>
    public bool Active { get; set; } = true;

    /// <summary>Live matches that arrive while stored events are still being read; released after EOSE.</summary>
    public List<NostrEvent>? CatchUpBuffer { get; set; } = [];

    /// <summary>The bytes of <see cref="CatchUpBuffer"/>, charged to the connection.</summary>
    public long BufferedBytes { get; set; }

    /// <summary>
    /// Ids sent as stored events: an event committed just before the REQ may reach us live after EOSE
    /// too, and must not be sent twice. Kept for <see cref="SubscriptionGrain.HistoryEchoWindow"/>.
    /// </summary>
    /// <remarks>Held as <see cref="NostrRelay.Grains.ResumePoint.IdKey"/>s: 8 bytes an id, and it keeps no event alive.</remarks>
    public HashSet<long>? SentHistory { get; set; }
    public long SentHistoryExpires { get; set; }

    /// <summary>
    /// The newest created_at among <see cref="SentHistory"/>'s events (long.MaxValue when it names ids of unknown
    /// time, after a resume): a live event newer than that was not among them, and is sent without a look-up.
    /// </summary>
    public long SentHistoryNewest { get; set; }

    /// <summary>Marks the event being matched, so a subscription matched by several filters is sent it once.</summary>
    public long LastMatchStamp { get; set; }

    /// <summary>Counted in this silo's interest (<see cref="NostrRelay.Cluster.Interest.SiloInterest"/>): to be counted out once when it goes.</summary>
    public bool Interested { get; set; }

    /// <summary>The interest generation every peer silo must confirm before this REQ reads the store.</summary>
    public long Announced { get; set; }

    /// <summary>When the REQ arrived (a <see cref="TimeProvider"/> timestamp): its wait for the peers counts from here.</summary>
    public long Registered { get; init; }

    /// <summary>
    /// While it reads stored events: where it started, as a store position (a resume's point, or what its shard had matched
    /// at a REQ). Its live matches wait in <see cref="CatchUpBuffer"/> meanwhile, so its shard vouches for no more once they
    /// are queued, until they are handed on.
    /// </summary>
    public long CatchUpFloor { get; set; }

    /// <summary>From registration until its catch-up ended (or it was dropped).</summary>
    public bool CatchingUp { get; set; }

    /// <summary>The index entries this subscription owns, to remove it in one pass.</summary>
    public List<IndexEntry> Entries { get; } = [];
}
