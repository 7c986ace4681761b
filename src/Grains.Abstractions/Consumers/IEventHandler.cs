using NostrRelay.Storage;

namespace NostrRelay.Consumers;

/// <summary>
/// A named consumer of the event log (a projection, an indexer, a mirror). It is handed every stored event
/// in position order, at least once: the consumer's bookmark moves only after its handler returned, so after
/// a crash the last events may come again. Make effects idempotent by event id.
/// </summary>
public interface IEventHandler
{
    /// <summary>Throwing stops the consumer at this event; it is offered again on the next poll.</summary>
    Task HandleAsync(StoredEvent stored, CancellationToken cancellationToken);
}
