using Microsoft.Extensions.Logging;
using NostrRelay.Grains;
using NostrRelay.Protocol;
using NostrRelay.Storage;
using NostrRelay.Subscriptions;

namespace NostrRelay.Streams;

/// <summary>
/// One author's stream: decides duplicate and supersession, assigns the next version and returns only
/// after the store committed. Not reentrant on purpose: one append at a time per author is what makes
/// replacement race-free without locks.
/// </summary>
internal sealed partial class AuthorStreamGrain(IEventStore store, LiveFanOut fanOut, ILogger<AuthorStreamGrain> logger)
    : Grain, IAuthorStreamGrain
{
    private string _stream = "";
    private long _head;

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _stream = this.GetPrimaryKeyString();
        _head = await store.ReadStreamHeadAsync(_stream, cancellationToken);
    }

    public async Task<AppendResult> AppendAsync(NostrEvent evt)
    {
        if (!string.Equals(evt.Pubkey, _stream, StringComparison.Ordinal))
            return AppendResult.Rejected("invalid: event was routed to another author's stream");

        if (EventKind.IsEphemeral(evt.Kind))
        {
            fanOut.Publish(new LiveEvent(evt, 0, 0));   // NIP-01: ephemeral events are not stored; OK true once handed to fan-out.
            return AppendResult.Accepted(0, 0);
        }

        var result = evt.Address is null
            ? await store.SaveAsync(evt, _stream, _head)
            : await store.ReplaceAsync(evt, _stream, _head);

        if (result.Outcome == SaveOutcome.VersionConflict)
        {
            // Another activation of this stream wrote meanwhile (possible only around a failover): re-read once.
            _head = await store.ReadStreamHeadAsync(_stream);
            LogVersionConflict(logger, _stream, _head);
            result = evt.Address is null
                ? await store.SaveAsync(evt, _stream, _head)
                : await store.ReplaceAsync(evt, _stream, _head);
        }

        switch (result.Outcome)
        {
            case SaveOutcome.Saved:
                _head = result.Version;
                fanOut.Publish(new LiveEvent(evt, result.Version, result.Position));   // after the commit: a subscriber never sees an event that could still be lost.
                return AppendResult.Accepted(result.Version, result.Position);
            case SaveOutcome.Duplicate:
                return AppendResult.Duplicate("already have this event");
            case SaveOutcome.Superseded:
                return AppendResult.Rejected("replaced: have a newer version of this event");
            default:
                return AppendResult.Rejected("error: concurrent write to this author's stream, try again");
        }
    }

    [LoggerMessage(EventId = 100, Level = LogLevel.Warning, Message = "Stream {Stream} was written elsewhere; head is now {Head}")]
    private static partial void LogVersionConflict(ILogger logger, string stream, long head);
}
