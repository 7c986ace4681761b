using Microsoft.Extensions.Logging;
using NostrRelay.Grains;
using NostrRelay.Protocol;
using NostrRelay.Storage;
using NostrRelay.Subscriptions;

namespace NostrRelay.Streams;

/// <summary>
/// The author's queue. Each round hands queued events to the store at once, each expecting the version the events
/// sent before it would leave if all were saved; the store decides them in the order it was handed them, within its
/// group commit. Rounds are pipelined: while one waits in the store's queue or batch, the next goes out behind it, so
/// one busy author keeps the store's writer busy instead of leaving it idle between a round's commit and the next
/// round. Answers are taken in order, round after round. When an event is not saved (a duplicate, a superseded or
/// deleted event, an error), the events sent after it that expected a version it would have taken come back as
/// version conflicts, in its round and in the rounds behind it; no round goes out until those are all back, and then
/// the conflicted ones go first into the next round, expecting the head as it really is. A duplicate and a deleted
/// event are told apart before the version is checked, so a client re-sending a history it published costs one
/// round, not one per event. Versions follow the queue's order, except when another activation writes the stream
/// during a round (only around a failover): then an event after the one that conflicted can take the version the
/// foreign write left free.
/// </summary>
internal sealed partial class AuthorStreamGrain
{
    /// <summary>Events sent to the store in one round; more wait for the next.</summary>
    internal const int MaxRound = 256;

    /// <summary>Rounds handed to the store and not answered yet, at most.</summary>
    internal const int MaxRoundsInFlight = 4;

    private readonly Queue<PendingAppend> _waiting = new();
    private readonly Queue<SentRound> _sent = new();
    private bool _pumping;

    /// <summary>The version the next event sent expects: the head, plus every event sent since that was not answered.</summary>
    private long _expected;

    /// <summary>Set while the pump waits on a round and could send more: a call that queues events wakes it.</summary>
    private TaskCompletionSource? _arrival;

    // Carried across the rounds in flight until they are all answered (see SettleAsync).
    private bool _broken, _conflicted, _superseded;
    private List<PendingAppend>? _again;

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
        if (_pumping)
        {
            _arrival?.TrySetResult();
            return;
        }
        _pumping = true;
        // The pump outlives the call that started it: it must not carry that call's context (its activity, its
        // request context) into the rounds it runs for later calls.
        using (ExecutionContext.SuppressFlow()) _ = PumpAsync();
    }

    /// <summary>Runs on the grain's scheduler until the queue is empty and every round is answered.</summary>
    private async Task PumpAsync()
    {
        try
        {
            while (true)
            {
                if (_sent.Count == 0)
                {
                    if (!_waiting.TryPeek(out var next)) break;
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
                    _expected = _head;
                }
                SendRounds();
                var oldest = _sent.Peek();
                if (!oldest.Answered.IsCompleted && !_broken && !_oneAtATime && _sent.Count < MaxRoundsInFlight && _waiting.Count == 0)
                {
                    // Wait for the oldest round's answers, or for a call whose events can go out behind it.
                    var arrival = _arrival = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                    await Task.WhenAny(oldest.Answered, arrival.Task);
                    _arrival = null;
                    continue;
                }
                _sent.Dequeue();
                try
                {
                    await SettleAsync(oldest);
                }
                catch (Exception ex)
                {
                    // Something past the store failed while answering (fan-out, metrics): whoever in the round has no
                    // answer yet gets the error (the gateway says "try again"); the rounds behind it conflict as after any
                    // event that did not take its version.
                    foreach (var pending in oldest.Events) pending.Fail(ex);
                    _broken = true;
                    LogRoundFailed(logger, ex, _stream);
                }
                if (_sent.Count == 0) await ResyncAsync();
            }
        }
        finally
        {
            _pumping = false;
        }
    }

    private static bool GoesAlone(NostrEvent evt) => evt.Kind is Vanishing.Kind or Vanishing.GiftWrapKind;

    private bool Sendable(NostrEvent evt) => !GoesAlone(evt) && string.Equals(evt.Pubkey, _stream, StringComparison.Ordinal);

    /// <summary>Hands what waits to the store, a round at a time, while rounds may go out.</summary>
    private void SendRounds()
    {
        var size = _oneAtATime ? 1 : MaxRound;
        var inFlight = _oneAtATime ? 1 : MaxRoundsInFlight;
        while (!_broken && _sent.Count < inFlight && _waiting.TryPeek(out var next) && Sendable(next.Event))
        {
            var round = new List<PendingAppend>(Math.Min(size, _waiting.Count));
            while (round.Count < size && _waiting.TryPeek(out next) && Sendable(next.Event)) round.Add(_waiting.Dequeue());
            var started = System.Diagnostics.Stopwatch.GetTimestamp();
            var saves = new Task<SaveResult>?[round.Count];
            var waits = new List<Task>(round.Count);
            for (var i = 0; i < round.Count; i++)
            {
                var evt = round[i].Event;
                if (EventKind.IsEphemeral(evt.Kind) || Vanished(evt)) continue;
                saves[i] = Save(evt, _expected);
                waits.Add(saves[i]!);
                _expected++;
            }
            _sent.Enqueue(new SentRound(round, saves, AllAnswered(waits), started));
        }
    }

    /// <summary>Done when every save is answered; never faults (each save's own failure is taken where it is awaited).</summary>
    private static Task AllAnswered(List<Task> saves) =>
        Task.WhenAll(saves).ContinueWith(static all => _ = all.Exception, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);

    /// <summary>Answers a round's events in order; the conflicted ones wait in <see cref="_again"/> for the resync.</summary>
    private async Task SettleAsync(SentRound sent)
    {
        var round = sent.Events;
        var roundSuperseded = false;
        for (var i = 0; i < round.Count; i++)
        {
            var pending = round[i];
            var evt = pending.Event;
            if (sent.Saves[i] is not { } save)
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
                _broken = true;
                pending.Fail(ex);
                continue;
            }
            if (result.Outcome == SaveOutcome.VersionConflict)
            {
                if (!_broken)
                {
                    // Nothing sent before it failed to take its version: another activation wrote meanwhile (possible
                    // only around a failover). The head is read again once the rounds are in; once only per event.
                    _conflicted = true;
                    if (pending.ConflictRetried)
                    {
                        _broken = true;
                        pending.Complete(AppendResult.Rejected(ConcurrentWriteMessage));
                        continue;
                    }
                    pending.ConflictRetried = true;
                }
                _broken = true;
                (_again ??= []).Add(pending);
                continue;
            }
            if (result.Outcome != SaveOutcome.Saved) _broken = true;
            if (result.Outcome == SaveOutcome.Superseded) roundSuperseded = true;
            metrics.Store(evt.Address is null ? "save" : "replace", sent.Started);   // once per event, with its final outcome
            pending.Complete(Answer(evt, result));
        }
        _superseded |= roundSuperseded;
    }

    /// <summary>
    /// Once every round sent is answered: the conflicted events go back to the front of the queue, after the head is
    /// read again if another writer moved it, and the next round expects the head as it is.
    /// </summary>
    private async Task ResyncAsync()
    {
        var again = _again;
        _oneAtATime = _superseded;
        _broken = _superseded = false;
        _again = null;
        try
        {
            if (_conflicted)
            {
                _conflicted = false;
                _head = await store.ReadStreamHeadAsync(_stream);
                await vanish.ReadStateAsync();
                LogVersionConflict(logger, _stream, _head);
            }
        }
        catch (Exception ex)
        {
            // The head could not be read again: whoever waited on it gets the error (the gateway says "try again"),
            // and the next round, expecting the head as it was, conflicts and reads it afresh.
            if (again is not null) foreach (var pending in again) pending.Fail(ex);
            LogRoundFailed(logger, ex, _stream);
            return;
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

    /// <summary>Puts events back at the front of the queue, in their order; one already answered (failed) stays out.</summary>
    private void Requeue(List<PendingAppend> again)
    {
        var behind = _waiting.ToArray();
        _waiting.Clear();
        foreach (var pending in again)
            if (!pending.Answer.IsCompleted) _waiting.Enqueue(pending);
        foreach (var pending in behind) _waiting.Enqueue(pending);
    }

    [LoggerMessage(EventId = 106, Level = LogLevel.Warning, Message = "Stream {Stream}: a round of appends failed while being answered or after a version conflict; its unanswered events were refused")]
    private static partial void LogRoundFailed(ILogger logger, Exception ex, string stream);
}
