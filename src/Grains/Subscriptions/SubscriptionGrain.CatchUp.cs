using Microsoft.Extensions.Logging;
using NostrRelay.Grains;
using NostrRelay.Protocol;

namespace NostrRelay.Subscriptions;

/// <summary>
/// Catch-up: a REQ's stored events, page by page off the grain's turn and only while its connection has room, then
/// EOSE and the live events buffered meanwhile; a resume after a failover.
/// </summary>
internal sealed partial class SubscriptionGrain
{
    /// <summary>Per filter: a resume covers seconds of outage, not the archive.</summary>
    private const int MaxResumedEvents = 5000;

    /// <summary>How long a REQ waits for the other silos to confirm its keys before it is closed.</summary>
    internal static readonly TimeSpan PeerConfirmTimeout = TimeSpan.FromSeconds(30);

    /// <summary>Stored events read per step of a catch-up, off the grain's turn (and at most <see cref="CatchUpRoomBytes"/> of them).</summary>
    private const int CatchUpPage = 256;

    /// <summary>A connection's next page of stored events is read only while less than this waits here for its gateway.</summary>
    internal const long CatchUpRoomBytes = 1024 * 1024;

    /// <summary>
    /// Ids of stored events a subscription remembers, to drop a live echo of one (newest first: the events committed
    /// just before the REQ). 8 bytes each; a live copy of an older stored event is then possible, never a loss.
    /// </summary>
    private const int MaxRememberedHistory = 16_384;

    public Task DrainedAsync(long connectionId, int episode)
    {
        if (_connections.TryGetValue(connectionId, out var connection)) connection.GatewayCaughtUp(episode);
        return Task.CompletedTask;
    }

    private void PauseCatchUps(Backlog[] backlogged)
    {
        var now = time.GetTimestamp();
        foreach (var backlog in backlogged)
            if (_connections.TryGetValue(backlog.ConnectionId, out var connection)) connection.GatewayBehind(backlog.Episode, now);
    }

    /// <summary>A connection's REQs read their stored events one after another, each as its turn comes.</summary>
    private async Task RunCatchUpsAsync(ShardConnection connection)
    {
        try
        {
            while (connection.CatchUps.TryDequeue(out var next))
            {
                try
                {
                    if (next.Subscription.Active) await CatchUpAsync(next.Subscription, next.Resume);
                }
                finally
                {
                    CatchUpEnded(next.Subscription);
                }
            }
        }
        finally
        {
            connection.CatchingUp = false;
            if (connection.Subscriptions.Count == 0 && _connections.TryGetValue(connection.Id, out var current) && current == connection)
                _connections.Remove(connection.Id);
        }
    }

    /// <summary>
    /// Sends a REQ's stored events page by page, each page read off the grain's turn and only while the connection has
    /// room here (a client that does not read stops the reading, and its gateway closes the subscription), then EOSE
    /// and the live events buffered meanwhile. A resume reads what the client missed and sends it oldest first.
    /// </summary>
    private async Task CatchUpAsync(LiveSubscription subscription, ResumePoint? resume)
    {
        var connection = subscription.Connection;
        var remembered = new HashSet<long>();
        var newest = long.MinValue;   // of the stored events sent
        HashSet<long>? sentBefore = resume is { Sent.Length: > 0 } ? [.. resume.Sent] : null;
        long storeTicks = 0;
        try
        {
            if (!await ConfirmedByPeersAsync(subscription)) return;
            await using var reader = new HistoryReader(store, resume is null ? subscription.Filters : ResumeFilters(subscription.Filters, resume),
                time.GetUtcNow().ToUnixTimeSeconds());
            var page = new List<NostrEvent>(CatchUpPage);
            List<NostrEvent>? missed = resume is null ? null : [];
            while (true)
            {
                while (resume is null && subscription.Active && !connection.HasRoom(CatchUpRoomBytes, time))
                    await connection.WaitForRoomAsync(time);
                if (!subscription.Active) return;
                var more = await reads.ReadPageAsync(reader, page, CatchUpPage, CatchUpRoomBytes, CancellationToken.None);
                if (!subscription.Active) return;
                foreach (var evt in page)
                {
                    if (missed is not null) missed.Add(evt);
                    else Send(subscription, evt, remembered, ref newest);
                }
                storeTicks = reader.StoreTicks;
                // The last page goes out below with EOSE behind it: one call to the gateway for both.
                if (!more) break;
                StartPump();
                // One page in flight: the gateway's receipt for it says whether the connection is behind, before the next read.
                if (missed is null) await HandedOnAsync();
            }
            if (missed is not null)
            {
                var fromLog = resume!.AfterPosition > 0 && await ReadResumeLogAsync(subscription, resume, missed);
                // A resumed subscription sends what was missed oldest first, as live events would have come. A search
                // filter's stored events come best match first: put them in time order too.
                if (fromLog || Filter.AnySearch(subscription.Filters)) missed.Sort(NostrEvent.CompareNewestFirst);
                for (var i = missed.Count - 1; i >= 0; i--)
                {
                    var evt = missed[i];
                    if (sentBefore is not null && sentBefore.Contains(ResumePoint.IdKey(evt.Id))) continue;   // the client had it
                    Send(subscription, evt, remembered, ref newest);
                }
            }
        }
        catch (Exception ex)
        {
            LogCatchUpFailed(logger, ex, subscription.SubscriptionId);
            if (!subscription.Active)
            {
                StartPump();   // a page queued before the failure
                return;
            }
            Remove(subscription.ConnectionId, subscription.SubscriptionId);
            Enqueue(Delivery.Closed(subscription.ConnectionId, subscription.SubscriptionId, "error: could not read stored events"));
            StartPump();
            return;
        }
        if (!subscription.Active)
        {
            StartPump();
            return;
        }

        // From here to the end there is no await: EOSE and the buffered live events are queued as one step after
        // the stored events, so nothing live can slip in between.
        if (resume is null) Enqueue(subscription, Delivery.EndOfStoredEvents(subscription.ConnectionId, subscription.SubscriptionId), 0);
        metrics.StoreTime("query", storeTicks);
        var buffered = subscription.CatchUpBuffer!;
        subscription.CatchUpBuffer = null;
        connection.BufferedBytes -= subscription.BufferedBytes;
        subscription.BufferedBytes = 0;
        foreach (var evt in buffered)
        {
            var key = ResumePoint.IdKey(evt.Id);
            if (remembered.Contains(key)) continue;
            if (sentBefore is not null && sentBefore.Contains(key)) continue;
            Enqueue(subscription, Delivery.ForEvent(subscription.ConnectionId, subscription.SubscriptionId, evt), evt.Json.Length);
        }
        if (remembered.Count > 0 || sentBefore is not null)
        {
            // What the client has: the stored events just sent and, after a resume, what it had before. A live
            // echo or a re-driven copy of any of them is dropped.
            if (sentBefore is not null) remembered.UnionWith(sentBefore);
            subscription.SentHistory = remembered;
            subscription.SentHistoryNewest = sentBefore is null ? newest : long.MaxValue;
            subscription.SentHistoryExpires = time.GetTimestamp() + (long)(HistoryEchoWindow.TotalSeconds * time.TimestampFrequency);
        }
        // Before the pump builds a batch from what was just queued: one that ends short of the buffered events must not
        // vouch past where this subscription started.
        CatchUpEnded(subscription);
        StartPump();
    }

    /// <summary>
    /// Adds to <paramref name="missed"/> the events stored past the resume point's position that it lacks, whatever their
    /// created_at: one signed long before the newest the client had, and committed while no activation held the
    /// subscription, is found only this way. True when it added any.
    /// </summary>
    private async Task<bool> ReadResumeLogAsync(LiveSubscription subscription, ResumePoint resume, List<NostrEvent> missed)
    {
        var now = time.GetUtcNow().ToUnixTimeSeconds();
        List<NostrEvent> stored;
        try
        {
            bool whole;
            (stored, whole) = await reads.RunAsync(() => resumeLog.ReadAsync(resume.AfterPosition, subscription.Filters, now, MaxResumedEvents, CancellationToken.None),
                CancellationToken.None);
            if (!whole && resumeLog.ShouldWarn()) LogResumeLogCut(logger, subscription.SubscriptionId, resume.AfterPosition, ResumeLog.MaxEvents);
        }
        catch (Exception ex)
        {
            // What created_at found still goes out: the resume is as good as before positions.
            LogResumeLogFailed(logger, ex, subscription.SubscriptionId);
            return false;
        }
        if (stored.Count == 0) return false;
        var have = new HashSet<long>(missed.Count + stored.Count);
        foreach (var evt in missed) have.Add(ResumePoint.IdKey(evt.Id));
        var added = false;
        foreach (var evt in stored)
        {
            if (!have.Add(ResumePoint.IdKey(evt.Id))) continue;
            missed.Add(evt);
            added = true;
        }
        return added;
    }

    /// <summary>
    /// Waits until every other silo holds this REQ's keys: an event committed there afterwards is then sent here, and
    /// one committed before is in the store read that follows. A peer that does not confirm in time (one about to be
    /// declared dead, usually) ends the REQ with CLOSED rather than a silent gap.
    /// </summary>
    private async Task<bool> ConfirmedByPeersAsync(LiveSubscription subscription)
    {
        var confirmed = fanOut.Interest.WhenConfirmedAsync(subscription.Announced);
        if (confirmed.IsCompleted) return true;
        try
        {
            // From the REQ's arrival, not from its turn: REQs queued behind it on the connection do not wait 30 s each.
            var left = PeerConfirmTimeout - time.GetElapsedTime(subscription.Registered);
            await confirmed.WaitAsync(left > TimeSpan.Zero ? left : TimeSpan.Zero, time);
            return true;
        }
        catch (TimeoutException)
        {
            LogPeersDidNotConfirm(logger, subscription.SubscriptionId);
            if (!subscription.Active) return false;
            Remove(subscription.ConnectionId, subscription.SubscriptionId);
            Enqueue(Delivery.Closed(subscription.ConnectionId, subscription.SubscriptionId, "error: the relay's cluster did not confirm this subscription in time; REQ again"));
            StartPump();
            return false;
        }
    }

    private void Send(LiveSubscription subscription, NostrEvent evt, HashSet<long> remembered, ref long newest)
    {
        if (evt.CreatedAt > newest) newest = evt.CreatedAt;
        if (remembered.Count < MaxRememberedHistory) remembered.Add(ResumePoint.IdKey(evt.Id));
        Enqueue(subscription, Delivery.ForEvent(subscription.ConnectionId, subscription.SubscriptionId, evt), evt.Json.Length);
    }

    /// <summary>
    /// A resumed subscription reads only what came since the client's last event. The REQ's limits counted
    /// stored events before EOSE, which the client already had; a resume is capped on its own.
    /// </summary>
    private static Filter[] ResumeFilters(Filter[] filters, ResumePoint resume)
    {
        var resumed = new Filter[filters.Length];
        for (var i = 0; i < filters.Length; i++)
        {
            var filter = filters[i];
            resumed[i] = filter with { Since = filter.Since is { } since && since > resume.Since ? since : resume.Since, Limit = MaxResumedEvents };
        }
        return resumed;
    }

    [LoggerMessage(EventId = 306, Level = LogLevel.Warning,
        Message = "Subscription {SubscriptionId} resumed after position {Position}, past which more than the {Max} newest events were stored: the older ones were read by created_at only (said once a minute)")]
    private static partial void LogResumeLogCut(ILogger logger, string subscriptionId, long position, int max);

    [LoggerMessage(EventId = 307, Level = LogLevel.Warning, Message = "Subscription {SubscriptionId} could not read the store's log past its resume point; it resumed by created_at only")]
    private static partial void LogResumeLogFailed(ILogger logger, Exception ex, string subscriptionId);

    [LoggerMessage(EventId = 305, Level = LogLevel.Warning, Message = "Subscription {SubscriptionId} was closed: the other silos did not confirm its interest in time")]
    private static partial void LogPeersDidNotConfirm(ILogger logger, string subscriptionId);

    [LoggerMessage(EventId = 300, Level = LogLevel.Warning, Message = "Catch-up read failed for subscription {SubscriptionId}")]
    private static partial void LogCatchUpFailed(ILogger logger, Exception ex, string subscriptionId);
}
