using Microsoft.Extensions.Logging;
using NostrRelay.Grains;
using NostrRelay.Protocol;

namespace NostrRelay.Subscriptions;

/// <summary>
/// Delivery: the outbox of frames for the gateway, charged to their connections, and the one pump that hands them to
/// the gateway shard's observer in order.
/// </summary>
internal sealed partial class SubscriptionGrain
{
    /// <summary>One observer call per this many deliveries under a burst (a round trip each): 256 drained 200 subscribers more slowly than one fast publisher filled them.</summary>
    private const int MaxDeliveriesPerCall = 1024;

    /// <summary>
    /// Live deliveries waiting for the gateway. Its connections bound what they queue for slow clients; this
    /// bounds what piles up here while the gateway itself does not take them (a stalled or cut-off process). A
    /// queued delivery costs about 70 bytes (the event is shared by all its deliveries), so this is about 70 MB. It
    /// was 65,536, which a burst of 330 events to 200 subscribers filled while the gateway was still taking them,
    /// and every subscription of the shard was closed (the fanout benchmark lost all 200,000 deliveries).
    /// </summary>
    internal const int MaxQueuedDeliveries = 1_048_576;

    /// <summary>
    /// A batch for at most this many connections goes to an observer in this process by a plain call in this turn: a
    /// few socket sends. A larger one (a live event for many subscribers) goes as an Orleans message, sent on another
    /// thread while this grain matches the next events.
    /// </summary>
    internal const int MaxConnectionsHandedHere = 8;

    /// <summary>And at most this many bytes of events: framing and sending a larger batch would hold the turn too long.</summary>
    internal const int MaxBytesHandedHere = 256 * 1024;

    /// <summary>
    /// Set when a call by message failed: it may still be running at the gateway (a timeout), and a plain call beside it
    /// would interleave their frames. Batches go by message until one is taken.
    /// </summary>
    private bool _messagesOnly;

    private static readonly TimeSpan[] DeliveryRetries = [TimeSpan.FromMilliseconds(100), TimeSpan.FromMilliseconds(300), TimeSpan.FromMilliseconds(900)];

    private readonly Queue<Queued> _outbox = new();

    /// <summary>Deliveries ever queued, and ever handed to the gateway: a catch-up reads its next page once its last one is handed on.</summary>
    private long _enqueued;

    private long _handed;

    private readonly List<(long Target, TaskCompletionSource Waiter)> _handedWaiters = [];

    private bool _pumping;

    /// <summary>Set by a check-in when the position this activation vouches for moved with nothing queued: an empty batch carries it.</summary>
    private bool _reportDue;

    /// <summary>Batches this activation has handed on: a batch sent again keeps its number, and the gateway takes it once.</summary>
    private long _batches;

    /// <summary>Queues an EVENT or EOSE of a subscription: left out when the pump comes to it, if the subscription has gone since.</summary>
    private void Enqueue(LiveSubscription subscription, Delivery delivery, int bytes)
    {
        subscription.Connection.Queue(bytes);
        _outbox.Enqueue(new Queued(delivery, subscription, bytes));
        _enqueued++;
    }

    private void Enqueue(Delivery delivery)
    {
        _outbox.Enqueue(new Queued(delivery, null, 0));
        _enqueued++;
    }

    /// <summary>Completes once every delivery queued so far has been handed to the gateway (or given up on).</summary>
    private Task HandedOnAsync()
    {
        if (_handed >= _enqueued) return Task.CompletedTask;
        var waiter = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _handedWaiters.Add((_enqueued, waiter));
        return waiter.Task;
    }

    /// <param name="delivered">False for deliveries given up on: no later batch vouches for a position past them.</param>
    private void Handed(int count, bool delivered = true)
    {
        _handed += count;
        ThroughHanded(delivered);
        for (var i = _handedWaiters.Count - 1; i >= 0; i--)
        {
            if (_handedWaiters[i].Target > _handed) continue;
            _handedWaiters[i].Waiter.TrySetResult();
            _handedWaiters.RemoveAt(i);
        }
    }

    /// <summary>A delivery waiting for the gateway, and the subscription it is for (whose connection its bytes are charged to).</summary>
    private readonly record struct Queued(Delivery Delivery, LiveSubscription? Subscription, int Bytes);

    /// <summary>Set while the pump waits out <see cref="LiveDeliveryOptions.GatherWindow"/>; completing it ends the wait.</summary>
    private TaskCompletionSource? _gathering;
    /// <summary>When the pump last handed a batch on (a <see cref="TimeProvider.GetTimestamp"/>), if it has; a live event waits for the window from there.</summary>
    private long? _handedAt;

    /// <summary>
    /// Starts the pump if it is idle: at once, or for <paramref name="live"/> events that follow a hand-on closer than
    /// the gather window, when the window since it has passed. Anything else queued (stored events, EOSE, CLOSED) ends
    /// a window being waited out: a REQ's answer never waits for it.
    /// </summary>
    private void StartPump(bool live = false)
    {
        if (_observer is null || (_outbox.Count == 0 && !_reportDue)) return;
        if (_pumping)
        {
            if (!live) EndGathering();
            return;
        }
        var gather = live ? GatherFor() : TimeSpan.Zero;
        _pumping = true;
        _ = PumpAsync(gather);
    }

    /// <summary>What is left of the gather window since the last hand-on: nothing when the shard was quiet that long.</summary>
    private TimeSpan GatherFor()
    {
        var window = liveDelivery.Value.GatherWindow;
        if (window <= TimeSpan.Zero || _handedAt is not { } handedAt) return TimeSpan.Zero;
        var left = window - time.GetElapsedTime(handedAt);
        return left < TimeSpan.Zero ? TimeSpan.Zero : left > window ? window : left;
    }

    /// <summary>Ends a gather window being waited out: what waits goes now.</summary>
    private void EndGathering() => _gathering?.TrySetResult();

    /// <summary>
    /// Sends what is queued, one observer call at a time (that keeps the order), taking everything that
    /// queued up meanwhile into the next call. A lone live event goes out at once, unless the shard handed
    /// something on less than the gather window before.
    /// </summary>
    private async Task PumpAsync(TimeSpan gather)
    {
        try
        {
            if (gather > TimeSpan.Zero)
            {
                var gathering = _gathering = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                // Cut short, the wait's timer goes with it; either way the pump goes on in this grain's turn.
                await gathering.Task.WaitAsync(gather, time).ConfigureAwait(ConfigureAwaitOptions.ContinueOnCapturedContext | ConfigureAwaitOptions.SuppressThrowing);
                _gathering = null;
            }
            while ((_outbox.Count > 0 || _reportDue) && _observer is { } observer)
            {
                _reportDue = false;
                var count = Math.Min(_outbox.Count, MaxDeliveriesPerCall);
                var items = new Delivery[count];
                var kept = 0;
                var runs = 0;   // of one connection's deliveries: at least as many as the connections
                long bytes = 0;
                for (var i = 0; i < count; i++)
                {
                    var queued = _outbox.Dequeue();
                    // Handed on (or about to be, or left out): the gateway's own bound covers it from here.
                    queued.Subscription?.Connection.Dequeue(queued.Bytes, CatchUpRoomBytes);
                    // Closed, replaced by a REQ with its id, or disconnected since it was queued: what is left of its
                    // events and its EOSE would reach the gateway as the new REQ's.
                    if (queued.Subscription is { Active: false }) continue;
                    if (kept == 0 || items[kept - 1].ConnectionId != queued.Delivery.ConnectionId) runs++;
                    items[kept++] = queued.Delivery;
                    bytes += queued.Bytes;
                }
                if (kept < count)
                {
                    if (kept == 0 && count > 0)
                    {
                        Handed(count);
                        continue;
                    }
                    Array.Resize(ref items, kept);
                }
                var through = ThroughAfter(_handed + count);
                _reportedThrough = through;
                var batch = new DeliveryBatch(items, _activation, ++_batches, through);
                var local = runs <= MaxConnectionsHandedHere && bytes <= MaxBytesHandedHere && !_messagesOnly ? localObservers.Find(observer) : null;
                if (count > 0) _handedAt = time.GetTimestamp();   // a check-in's empty batch starts no gather window
                for (var attempt = 0; ; attempt++)
                {
                    try
                    {
                        var receipt = await (local is null ? observer.DeliverAsync(batch) : DeliverHere(local, batch));
                        if (local is null) _messagesOnly = false;
                        if (receipt.Backlogged is { } behind) PauseCatchUps(behind);
                        if (receipt.Gone is { } gone) foreach (var connectionId in gone) Forget(connectionId);
                        Handed(count);
                        if (!receipt.Accepted)
                        {
                            // The gateway resumed this shard in another activation: this one is a leftover.
                            LogSuperseded(logger, this.GetPrimaryKeyString());
                            Retire();
                            return;
                        }
                        break;
                    }
                    catch (Exception ex) when (attempt < DeliveryRetries.Length)
                    {
                        // A blip between silo and gateway: the same batch again keeps the order.
                        if (attempt == 0) LogDeliveryRetry(logger, ex, this.GetPrimaryKeyString(), count);
                        if (local is null) _messagesOnly = true;
                        await Task.Delay(DeliveryRetries[attempt]);
                    }
                    catch (Exception ex)
                    {
                        // Never a silent hole: each subscription that lost events here is told to REQ again.
                        LogDeliveryFailed(logger, ex, this.GetPrimaryKeyString(), count);
                        if (local is null) _messagesOnly = true;
                        Handed(count, delivered: count == 0);   // given up on: nobody waits for them any longer
                        foreach (var lost in items)
                            if (lost.Kind == DeliveryKind.Event && Find(lost.ConnectionId, lost.SubscriptionId) is { } subscription)
                                Overflow(subscription, "error: events for this subscription were lost on the way to the gateway; REQ again with since");
                        break;
                    }
                }
            }
        }
        finally
        {
            _pumping = false;
        }
    }

    /// <summary>
    /// The observer's call run on this thread, as a task of the default scheduler: whatever the gateway starts from it
    /// (a send that has to wait for its socket) goes on on the thread pool, not in this grain's turn.
    /// </summary>
    /// <remarks>
    /// Orleans still counts the code as this grain's: a call the gateway makes from it (DrainedAsync, UnsubscribeAsync
    /// for a slow client) comes from this grain to itself, which is safe as long as this grain is reentrant and nothing
    /// here awaits such a call; an object reference cannot be created or deleted from it.
    /// </remarks>
    private static Task<DeliveryReceipt> DeliverHere(IGatewayShardObserver local, DeliveryBatch batch)
    {
        var call = new Task<Task<DeliveryReceipt>>(static state =>
        {
            var (observer, batch) = ((IGatewayShardObserver, DeliveryBatch))state!;
            return observer.DeliverAsync(batch);
        }, (local, batch), TaskCreationOptions.DenyChildAttach);
        call.RunSynchronously(TaskScheduler.Default);
        return call.IsCompletedSuccessfully ? call.Result : Task.FromException<DeliveryReceipt>(call.Exception!.InnerException!);
    }

    [LoggerMessage(EventId = 304, Level = LogLevel.Warning, Message = "Shard {Shard} could not deliver {Count} frames to its gateway; retrying")]
    private static partial void LogDeliveryRetry(ILogger logger, Exception ex, string shard, int count);

    [LoggerMessage(EventId = 301, Level = LogLevel.Warning, Message = "Shard {Shard} could not deliver {Count} frames to its gateway; their subscriptions are closed")]
    private static partial void LogDeliveryFailed(ILogger logger, Exception ex, string shard, int count);
}
