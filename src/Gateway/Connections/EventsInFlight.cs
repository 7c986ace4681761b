using System.Diagnostics;
using Microsoft.Extensions.Logging;
using NostrRelay.Framing;
using NostrRelay.Metrics;
using NostrRelay.Grains;
using NostrRelay.Policies;
using NostrRelay.Protocol;

namespace NostrRelay.Connections;

/// <summary>
/// One connection's EVENTs between check and OK. A bounded number are in flight at once (reading the socket pauses
/// beyond it). Each author has a lane: one call to the author's grain at a time, and the events that come while it
/// is out go together in the next call (<see cref="IAuthorStreamGrain.AppendManyAsync"/>), so the grain sees this
/// connection's events in arrival order (Orleans does not order concurrent calls) and a busy author's events share
/// one store commit.
/// </summary>
internal sealed partial class EventsInFlight(IGrainFactory grains, ClusterCallWatch calls, int maxInFlight, OutboundQueue replies,
    PolicyPipeline policies, ClientContext client, RelayMetrics metrics, ILogger logger)
{
    private readonly SemaphoreSlim _slots = new(maxInFlight, maxInFlight);
    private readonly Dictionary<string, Queue<WaitingEvent>> _lanes = new(StringComparer.Ordinal);

    private readonly record struct WaitingEvent(NostrEvent Event, ValueTask<PolicyResult> Verdict, long Started);

    /// <summary>
    /// Returns once the event is in flight (at once, unless the bound is reached); its OK is sent later, after
    /// <paramref name="verdict"/> (the policies still deciding on it) accepts and the store commits.
    /// </summary>
    public async ValueTask SubmitAsync(NostrEvent evt, ValueTask<PolicyResult> verdict)
    {
        var started = Stopwatch.GetTimestamp();
        await _slots.WaitAsync();
        Queue<WaitingEvent>? lane;
        lock (_lanes)
        {
            if (_lanes.TryGetValue(evt.Pubkey, out var busy))
            {
                busy.Enqueue(new WaitingEvent(evt, verdict, started));   // the lane's sender takes it with its next call
                return;
            }
            lane = new Queue<WaitingEvent>();
            lane.Enqueue(new WaitingEvent(evt, verdict, started));
            _lanes[evt.Pubkey] = lane;
        }
        _ = SendLaneAsync(evt.Pubkey, lane);
    }

    /// <summary>Waits, at most <paramref name="timeout"/>, until every event in flight has its OK.</summary>
    public async Task DrainAsync(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (_slots.CurrentCount < maxInFlight && DateTime.UtcNow < deadline)
            await Task.Delay(10);
    }

    /// <summary>Sends what the lane holds, call after call, until it is empty; then the lane is gone.</summary>
    private async Task SendLaneAsync(string pubkey, Queue<WaitingEvent> lane)
    {
        var taken = new List<WaitingEvent>();
        while (true)
        {
            lock (_lanes)
            {
                if (lane.Count == 0)
                {
                    _lanes.Remove(pubkey);
                    return;
                }
                while (lane.TryDequeue(out var waiting)) taken.Add(waiting);
            }
            await SendAsync(pubkey, taken);
            taken.Clear();
        }
    }

    /// <summary>Answers the events the policies refuse, sends the rest in one call, answers each. Never throws.</summary>
    private async Task SendAsync(string pubkey, List<WaitingEvent> taken)
    {
        var accepted = new List<WaitingEvent>(taken.Count);
        foreach (var waiting in taken)
        {
            PolicyResult decided;
            try
            {
                decided = await waiting.Verdict;
            }
            catch (Exception ex)
            {
                Failed(waiting, ex);
                _slots.Release();
                continue;
            }
            if (!decided.IsRejected)
            {
                accepted.Add(waiting);
                continue;
            }
            // A shadow rejection is told OK true, as if stored.
            Answer(waiting.Event.Id, decided.IsShadowRejected, decided.Message ?? "", waiting.Started, decided.IsShadowRejected);
            if (decided.Message is { } message && message.StartsWith(PolicyResult.AuthRequiredPrefix, StringComparison.Ordinal))
                replies.EnqueueReply(RelayFrames.Auth(client.Challenge));
            _slots.Release();
        }
        if (accepted.Count == 0) return;

        var events = new NostrEvent[accepted.Count];
        for (var i = 0; i < events.Length; i++) events[i] = accepted[i].Event;
        try
        {
            var results = await AppendAsync(grains.GetGrain<IAuthorStreamGrain>(pubkey), events);
            // One commit's OKs leave together, in as few sends as they fit.
            var held = replies.Hold();
            try
            {
                for (var i = 0; i < events.Length; i++) Answered(accepted[i], results[i]);
            }
            finally
            {
                if (held) replies.Release();
            }
        }
        catch (Exception ex)
        {
            foreach (var waiting in accepted) Failed(waiting, ex);
        }
        finally
        {
            _slots.Release(accepted.Count);
        }
    }

    /// <summary>
    /// The call, sent once more if the client lost a gateway while it was out (<see cref="ClusterCallWatch"/>). Stored
    /// events are safe to send again (one that was stored comes back a duplicate); an ephemeral one may already have
    /// reached subscribers, so it is not sent twice but answered "try again".
    /// </summary>
    private async Task<AppendResult[]> AppendAsync(IAuthorStreamGrain grain, NostrEvent[] events)
    {
        if (await TrySendAsync(grain, events) is { } answered) return answered;
        LogResent(logger, events.Length, events[0].Pubkey);
        var again = new List<NostrEvent>(events.Length);
        foreach (var evt in events)
            if (!EventKind.IsEphemeral(evt.Kind)) again.Add(evt);
        var resent = again.Count == 0 ? []
            : await TrySendAsync(grain, [.. again]) ?? throw new ClusterConnectionLostException();
        var results = new AppendResult[events.Length];
        for (int i = 0, j = 0; i < events.Length; i++)
            results[i] = EventKind.IsEphemeral(events[i].Kind) ? AppendResult.Rejected(LostEphemeralMessage) : resent[j++];
        return results;
    }

    /// <summary>The call's answers; null when the client lost a gateway while it was out (the call is then abandoned).</summary>
    private async Task<AppendResult[]?> TrySendAsync(IAuthorStreamGrain grain, NostrEvent[] events)
    {
        var lost = calls.CallsInFlight;
        var call = grain.AppendManyAsync(events);
        try
        {
            return await call.WaitAsync(lost);
        }
        catch (OperationCanceledException) when (lost.IsCancellationRequested)
        {
            ClusterCallWatch.Abandon(call);
            return null;
        }
    }

    private const string LostEphemeralMessage = "error: the relay lost a connection inside its cluster while sending this event; try again";

    private void Answered(WaitingEvent waiting, AppendResult result)
    {
        Answer(waiting.Event.Id, result.Ok, result.Message, waiting.Started);
        if (result.Status == AppendStatus.Accepted) policies.Stored(waiting.Event, client);
    }

    private void Failed(WaitingEvent waiting, Exception ex)
    {
        LogAppendFailed(logger, ex, waiting.Event.Id);
        Answer(waiting.Event.Id, false, "error: the event could not be stored; try again", waiting.Started);
    }

    private void Answer(string eventId, bool accepted, string message, long started, bool shadowRejected = false)
    {
        replies.EnqueueReply(RelayFrames.Ok(eventId, accepted, message));
        metrics.Answered(accepted, message, started, shadowRejected);
    }

    [LoggerMessage(EventId = 408, Level = LogLevel.Information, Message = "A gateway connection was lost with {Count} events of {Pubkey} in flight; sent again")]
    private static partial void LogResent(ILogger logger, int count, string pubkey);

    [LoggerMessage(EventId = 402, Level = LogLevel.Error, Message = "Append of event {EventId} failed")]
    private static partial void LogAppendFailed(ILogger logger, Exception ex, string eventId);
}
