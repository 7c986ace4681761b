namespace NostrRelay.Streaming;

/// <summary>How the silo serves the event log as Orleans streams (<see cref="EventLogStreamsHosting.AddEventLogStreams(Orleans.Hosting.ISiloBuilder, Action{EventLogStreamOptions}?)"/>).</summary>
public sealed class EventLogStreamOptions
{
    /// <summary>How often the log is read for new events. Default 100 ms (Orleans' own): streams are for consumers, not live delivery.</summary>
    public TimeSpan PollPeriod { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// Per-author streams as well as the stream of everything and the per-kind streams. Off by default: each stream a
    /// pulling agent first sees costs a registration with Orleans' pub-sub, and a relay has as many authors as users.
    /// </summary>
    public bool AuthorStreams { get; set; }

    /// <summary>
    /// Positions a queue's pulling agent reads again when it starts (on a silo, or on another after a silo died): they
    /// register their streams again, so a subscriber of a quiet stream is caught up without waiting for its next event.
    /// Events a subscriber already has are not delivered twice. Default 1,000 positions (deleted events leave gaps in them).
    /// </summary>
    public int ReplayOnStart { get; set; } = 1_000;
}
