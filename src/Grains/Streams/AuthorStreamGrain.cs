using Microsoft.Extensions.Logging;
using Orleans.Concurrency;
using Orleans.Placement;
using NostrRelay.Grains;
using NostrRelay.Metrics;
using NostrRelay.Hosting;
using NostrRelay.Protocol;
using NostrRelay.Storage;
using NostrRelay.Subscriptions;

namespace NostrRelay.Streams;

/// <summary>
/// One author's stream: decides duplicate and supersession, assigns the next version and returns only
/// after the store committed. Calls interleave, but every append goes through one queue in arrival order
/// (<see cref="PumpAsync"/>): a round of queued events goes to the store at once, so a busy author's events
/// share the store's group commit instead of one durable commit each, while the store, which decides a
/// stream's writes in the order they were handed to it, keeps versions, duplicates and supersession exact.
/// </summary>
/// <remarks>
/// Placed on the silo of the gateway that first writes for the author: a client writes through one gateway,
/// so its appends stay in process instead of crossing to another silo and back.
/// </remarks>
[Reentrant]
[PreferLocalPlacement]
internal sealed partial class AuthorStreamGrain(
    IEventStore store,
    LiveFanOut fanOut,
    TimeProvider time,
    [PersistentState("vanish", RelayGrainStorage.Name)] IPersistentState<VanishRecord> vanish,
    SiloMetrics metrics,
    ILogger<AuthorStreamGrain> logger)
    : Grain, IAuthorStreamGrain
{
    /// <summary>
    /// How recent an event must be for a new activation to send it to live subscribers again. An event
    /// committed just before its silo died may have had its OK sent and its fan-out not; the grain that
    /// takes over re-drives what is this recent, and shards drop the versions they already had.
    /// </summary>
    internal static readonly TimeSpan RedriveWindow = TimeSpan.FromSeconds(60);
    private const int MaxRedriven = 64;

    private string _stream = "";
    private long _head;

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _stream = this.GetPrimaryKeyString();
        _head = await store.ReadStreamHeadAsync(_stream, cancellationToken);
        // NIP-62: a purge a crash, a failover or a store error cut short is finished by the next activation.
        if (vanish.State.RequestId is not null && !vanish.State.Purged) await FinishVanishingAsync(cancellationToken);
        // Before the first append of this activation: a shard that saw a newer version first would drop these.
        if (_head > 0) await RedriveRecentAsync(cancellationToken);
    }

    private async Task RedriveRecentAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow().ToUnixTimeSeconds();
        var window = (long)RedriveWindow.TotalSeconds;
        var redriven = 0;
        try
        {
            await foreach (var stored in store.ReadStreamAsync(_stream, Math.Max(0, _head - MaxRedriven), MaxRedriven, cancellationToken))
            {
                var createdAt = stored.Event.CreatedAt;
                if (createdAt < now - window || createdAt > now + window) continue;
                fanOut.Redrive(new LiveEvent(stored.Event, stored.Version, stored.Position));
                redriven++;
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // Best effort: live subscribers may miss what was lost in flight; stored events and OKs are intact.
            LogRedriveFailed(logger, ex, _stream);
        }
        if (redriven > 0) LogRedriven(logger, _stream, redriven);
    }

    public Task<AppendResult> AppendAsync(NostrEvent evt)
    {
        var pending = Enqueue(evt);
        StartPump();
        return pending.Answer;
    }

    public async Task<AppendResult[]> AppendManyAsync(NostrEvent[] events)
    {
        var answers = new Task<AppendResult>[events.Length];
        for (var i = 0; i < events.Length; i++) answers[i] = Enqueue(events[i]).Answer;
        StartPump();
        var results = new AppendResult[events.Length];
        for (var i = 0; i < answers.Length; i++)
        {
            try
            {
                results[i] = await answers[i];
            }
            catch (Exception ex)
            {
                // The others in the call were answered on their own; only this one's outcome is unknown.
                LogAppendFailed(logger, ex, events[i].Id);
                results[i] = AppendResult.Rejected("error: the event could not be stored; try again");
            }
        }
        return results;
    }

    /// <summary>
    /// One event on its own, after every event queued before it is answered and before any queued after it is sent:
    /// a request to vanish, and a gift wrap whose recipients are asked whether they vanished.
    /// </summary>
    private async Task<AppendResult> AppendAloneAsync(NostrEvent evt)
    {
        if (Vanished(evt)) return AppendResult.Rejected(Vanishing.AuthorVanishedMessage);
        if (evt.Kind == Vanishing.GiftWrapKind && await ForVanishedRecipientAsync(evt))
            return AppendResult.Rejected(Vanishing.RecipientVanishedMessage);

        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var result = evt.Address is null
            ? await store.SaveAsync(evt, _stream, _head)
            : await store.ReplaceAsync(evt, _stream, _head);
        metrics.Store(evt.Address is null ? "save" : "replace", started);

        if (result.Outcome == SaveOutcome.VersionConflict)
        {
            // Another activation of this stream wrote meanwhile (possible only around a failover): re-read once, the
            // request to vanish it may have taken included.
            _head = await store.ReadStreamHeadAsync(_stream);
            await vanish.ReadStateAsync();
            if (Vanished(evt)) return AppendResult.Rejected(Vanishing.AuthorVanishedMessage);
            LogVersionConflict(logger, _stream, _head);
            result = evt.Address is null
                ? await store.SaveAsync(evt, _stream, _head)
                : await store.ReplaceAsync(evt, _stream, _head);
        }

        var answer = Answer(evt, result);
        // A request to vanish sent again (its first OK lost to a timeout or a crash) finishes what it started.
        if (evt.Kind == Vanishing.Kind && result.Outcome is SaveOutcome.Saved or SaveOutcome.Duplicate) await VanishAsync(evt);
        return answer;
    }

    /// <summary>The answer to a store's outcome; a saved event moves the head and goes to live subscribers.</summary>
    private AppendResult Answer(NostrEvent evt, SaveResult result)
    {
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
            case SaveOutcome.Deleted:
                return AppendResult.Rejected(DeletedMessage);
            default:
                return AppendResult.Rejected(ConcurrentWriteMessage);
        }
    }

    private const string ConcurrentWriteMessage = "error: concurrent write to this author's stream, try again";

    public Task<long> VanishedUntilAsync() => Task.FromResult(vanish.State.Until);

    private bool Vanished(NostrEvent evt) =>
        evt.CreatedAt <= vanish.State.Until && !string.Equals(evt.Id, vanish.State.RequestId, StringComparison.Ordinal);

    /// <summary>NIP-59 gift wraps name their recipient in a p tag; one who vanished takes none dated before the request.</summary>
    private async Task<bool> ForVanishedRecipientAsync(NostrEvent evt)
    {
        var checkedCount = 0;
        foreach (var tag in evt.Tags)
        {
            if (tag.Length < 2 || tag[0] != "p" || !Hex.IsLowerHex(tag[1], 64)) continue;
            if (++checkedCount > Vanishing.MaxRecipientsChecked) break;
            var until = string.Equals(tag[1], _stream, StringComparison.Ordinal)
                ? vanish.State.Until
                : await GrainFactory.GetGrain<IAuthorStreamGrain>(tag[1]).VanishedUntilAsync();
            if (evt.CreatedAt <= until) return true;
        }
        return false;
    }

    /// <summary>
    /// NIP-62: the stored request is recorded in grain storage (where no expiry, retention or deletion reaches it),
    /// then everything it covers is removed before its OK, so a client told OK true finds nothing left. An older
    /// request than the one recorded changes nothing.
    /// </summary>
    private async Task VanishAsync(NostrEvent request)
    {
        if (request.CreatedAt < vanish.State.Until) return;
        if (request.CreatedAt > vanish.State.Until || vanish.State.RequestId is null)
        {
            vanish.State.Until = request.CreatedAt;
            vanish.State.RequestId = request.Id;
            vanish.State.Purged = false;
            await vanish.WriteStateAsync();
        }
        if (!vanish.State.Purged) await FinishVanishingAsync(CancellationToken.None);
    }

    private async Task FinishVanishingAsync(CancellationToken cancellationToken)
    {
        try
        {
            var removed = await Vanishing.PurgeAsync(store, _stream, vanish.State.Until, vanish.State.RequestId!, cancellationToken);
            vanish.State.Purged = true;
            await vanish.WriteStateAsync(cancellationToken);
            LogVanished(logger, _stream, removed);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // The refusal holds already; what is left goes with the next activation or a re-sent request.
            LogVanishIncomplete(logger, ex, _stream);
        }
    }

    /// <summary>NIP-09: a deleted event is not taken again.</summary>
    public const string DeletedMessage = "blocked: a deletion request (NIP-09) names this event";

    [LoggerMessage(EventId = 101, Level = LogLevel.Debug, Message = "Stream {Stream} re-drove its {Count} most recent events to live subscribers")]
    private static partial void LogRedriven(ILogger logger, string stream, int count);

    [LoggerMessage(EventId = 102, Level = LogLevel.Warning, Message = "Stream {Stream} could not re-drive its recent events")]
    private static partial void LogRedriveFailed(ILogger logger, Exception ex, string stream);

    [LoggerMessage(EventId = 103, Level = LogLevel.Information, Message = "Stream {Stream} asked to vanish (NIP-62): {Count} events removed")]
    private static partial void LogVanished(ILogger logger, string stream, int count);

    [LoggerMessage(EventId = 104, Level = LogLevel.Warning, Message = "Stream {Stream} asked to vanish (NIP-62); its purge stopped and resumes on its next activation")]
    private static partial void LogVanishIncomplete(ILogger logger, Exception ex, string stream);

    [LoggerMessage(EventId = 105, Level = LogLevel.Error, Message = "Append of event {EventId} failed")]
    private static partial void LogAppendFailed(ILogger logger, Exception ex, string eventId);

    [LoggerMessage(EventId = 100, Level = LogLevel.Warning, Message = "Stream {Stream} was written elsewhere; head is now {Head}")]
    private static partial void LogVersionConflict(ILogger logger, string stream, long head);
}
