using Microsoft.Extensions.Logging;
using NostrRelay.Grains;
using NostrRelay.Protocol;
using NostrRelay.Storage;
using NostrRelay.Subscriptions;

namespace NostrRelay.Streams;

/// <summary>
/// The author's queue. Each round hands every queued event to the store at once, each expecting the version the
/// events before it would leave if all were saved; the store decides them in that order within its group commit.
/// When one is not saved (a duplicate, a superseded or deleted event, an error), the events after it that were
/// sent expecting a version it would have taken come back as version conflicts and go first into the next round,
/// expecting the head as it really is. A duplicate and a deleted event are told apart before the version is
/// checked, so a client re-sending a history it published costs one round, not one per event. Versions follow the
/// queue's order, except when another activation writes the stream during a round (only around a failover): then
/// an event after the one that conflicted can take the version the foreign write left free.
/// </summary>
internal sealed partial class AuthorStreamGrain
{
    /// <summary>Events sent to the store in one round; more wait for the next.</summary>
    internal const int MaxRound = 256;

    private readonly Queue<PendingAppend> _waiting = new();
    private bool _pumping;

    /// <summary>
    /// Set by a round in which a replaceable event came back superseded: the store checks the version before the
    /// address, so such an event makes the rest of its round conflict, and a client re-publishing many old versions
    /// would cost a round per event, each sending the whole rest again. Until a round has no superseded event,
    /// rounds take one event: as many commits as events, as before the pipeline, never more.
    /// </summary>
    private bool _oneAtATime;

    private PendingAppend Enqueue(NostrEvent evt)
    {
        var pending = new PendingAppend(evt);
        _waiting.Enqueue(pending);
        return pending;
    }

    private void StartPump()
    {
        if (_pumping) return;
        _pumping = true;
        // The pump outlives the call that started it: it must not carry that call's context (its activity, its
        // request context) into the rounds it runs for later calls.
        using (ExecutionContext.SuppressFlow()) _ = PumpAsync();
    }

    /// <summary>Runs on the grain's scheduler until the queue is empty; calls that come meanwhile only queue.</summary>
    private async Task PumpAsync()
    {
        List<PendingAppend>? round = null;
        try
        {
            while (_waiting.TryPeek(out var next))
            {
                if (!string.Equals(next.Event.Pubkey, _stream, StringComparison.Ordinal))
                {
                    _waiting.Dequeue().Complete(AppendResult.Rejected("invalid: event was routed to another author's stream"));
                    continue;
                }
                if (GoesAlone(next.Event))
                {
                    _waiting.Dequeue();
                    try { next.Complete(await AppendAloneAsync(next.Event)); }
                    catch (Exception ex) { next.Fail(ex); }
                    continue;
                }
                round ??= new List<PendingAppend>(Math.Min(MaxRound, _waiting.Count));
                var size = _oneAtATime ? 1 : MaxRound;
                while (round.Count < size && _waiting.TryPeek(out next) && !GoesAlone(next.Event)
                       && string.Equals(next.Event.Pubkey, _stream, StringComparison.Ordinal))
                    round.Add(_waiting.Dequeue());
                try
                {
                    await RunRoundAsync(round);
                }
                catch (Exception ex)
                {
                    // The head could not be read again after a conflict: whoever in the round has no answer yet gets
                    // the error (the gateway says "try again"), and the next round reads the head afresh.
                    foreach (var pending in round) pending.Fail(ex);
                    LogRoundFailed(logger, ex, _stream);
                }
                round.Clear();
            }
        }
        finally
        {
            _pumping = false;
        }
    }

    private static bool GoesAlone(NostrEvent evt) => evt.Kind is Vanishing.Kind or Vanishing.GiftWrapKind;

    private async Task RunRoundAsync(List<PendingAppend> round)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var saves = new Task<SaveResult>?[round.Count];
        var expected = _head;
        for (var i = 0; i < round.Count; i++)
        {
            var evt = round[i].Event;
            if (EventKind.IsEphemeral(evt.Kind) || Vanished(evt)) continue;
            saves[i] = Save(evt, expected);
            expected++;
        }

        // Answered in order: a saved event's fan-out follows the saves before it.
        var broken = false;
        var conflicted = false;
        var superseded = false;
        List<PendingAppend>? again = null;
        for (var i = 0; i < round.Count; i++)
        {
            var pending = round[i];
            var evt = pending.Event;
            if (saves[i] is not { } save)
            {
                if (EventKind.IsEphemeral(evt.Kind))
                {
                    fanOut.Publish(new LiveEvent(evt, 0, 0));   // NIP-01: ephemeral events are not stored; OK true once handed to fan-out.
                    pending.Complete(AppendResult.Accepted(0, 0));
                }
                else pending.Complete(AppendResult.Rejected(Vanishing.AuthorVanishedMessage));
                continue;
            }
            SaveResult result;
            try
            {
                result = await save;
            }
            catch (Exception ex)
            {
                broken = true;
                pending.Fail(ex);
                continue;
            }
            if (result.Outcome == SaveOutcome.VersionConflict)
            {
                if (!broken)
                {
                    // Nothing before it in this round failed to take its version: another activation wrote meanwhile
                    // (possible only around a failover). The head is read again after the round; once only per event.
                    conflicted = true;
                    if (pending.ConflictRetried)
                    {
                        broken = true;
                        pending.Complete(AppendResult.Rejected(ConcurrentWriteMessage));
                        continue;
                    }
                    pending.ConflictRetried = true;
                }
                broken = true;
                (again ??= []).Add(pending);
                continue;
            }
            if (result.Outcome != SaveOutcome.Saved) broken = true;
            if (result.Outcome == SaveOutcome.Superseded) superseded = true;
            metrics.Store(evt.Address is null ? "save" : "replace", started);   // once per event, with its final outcome
            pending.Complete(Answer(evt, result));
        }

        _oneAtATime = superseded;
        if (conflicted)
        {
            _head = await store.ReadStreamHeadAsync(_stream);
            await vanish.ReadStateAsync();
            LogVersionConflict(logger, _stream, _head);
        }
        if (again is not null) Requeue(again);
    }

    private Task<SaveResult> Save(NostrEvent evt, long expectedVersion)
    {
        try
        {
            return evt.Address is null ? store.SaveAsync(evt, _stream, expectedVersion) : store.ReplaceAsync(evt, _stream, expectedVersion);
        }
        catch (Exception ex)
        {
            return Task.FromException<SaveResult>(ex);
        }
    }

    /// <summary>Puts events back at the front of the queue, in their order.</summary>
    private void Requeue(List<PendingAppend> again)
    {
        var behind = _waiting.ToArray();
        _waiting.Clear();
        foreach (var pending in again) _waiting.Enqueue(pending);
        foreach (var pending in behind) _waiting.Enqueue(pending);
    }

    [LoggerMessage(EventId = 106, Level = LogLevel.Warning, Message = "Stream {Stream}: a round of appends failed after a version conflict; its unanswered events were refused")]
    private static partial void LogRoundFailed(ILogger logger, Exception ex, string stream);
}
