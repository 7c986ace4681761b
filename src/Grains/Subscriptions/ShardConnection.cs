namespace NostrRelay.Subscriptions;

/// <summary>
/// One gateway connection as a subscription shard sees it: its REQs, and the bytes of events the shard holds for it
/// (queued for the gateway, or buffered while a REQ reads stored events). The bytes are charged here so that what one
/// connection makes the shard hold stops at a bound: stored-event reads wait for room, live events past the bound
/// close the subscription they were for.
/// </summary>
internal sealed class ShardConnection(long id)
{
    public long Id { get; } = id;

    public Dictionary<string, LiveSubscription> Subscriptions { get; } = new(StringComparer.Ordinal);

    /// <summary>Event bytes held for this connection: in the shard's outbox or in catch-up buffers.</summary>
    public long HeldBytes => QueuedBytes + BufferedBytes;

    /// <summary>Event bytes in the shard's outbox, on their way to the gateway: what a catch-up waits on.</summary>
    public long QueuedBytes { get; private set; }

    /// <summary>
    /// Live events buffered by REQs still reading stored events. Not waited on (they leave only when those REQs finish,
    /// which waiting would stop); bounded with the rest by the shard's per-connection limit.
    /// </summary>
    public long BufferedBytes { get; set; }

    /// <summary>REQs waiting to read their stored events: a connection's catch-ups run one after another.</summary>
    public Queue<(LiveSubscription Subscription, Grains.ResumePoint? Resume)> CatchUps { get; } = new();

    public bool CatchingUp { get; set; }

    /// <summary>
    /// The gateway said this connection's socket is far behind (<see cref="Grains.DeliveryReceipt.Backlogged"/>), at
    /// this timestamp; 0 when not. Its stored-event reads pause until the gateway says it drained, or, should that
    /// word be lost, until <see cref="BehindPause"/> has passed (the receipt of the next page pauses it again while the
    /// connection is still behind).
    /// </summary>
    private long _behindSince;

    /// <summary>The latest episode the gateway said this connection drained from: an older "behind" arriving late is ignored.</summary>
    private int _drainedEpisode = -1;

    internal static readonly TimeSpan BehindPause = TimeSpan.FromSeconds(5);

    private TaskCompletionSource? _room;

    /// <summary>The episode the current pause is for.</summary>
    private int _behindEpisode;

    public void GatewayBehind(int episode, long now)
    {
        if (episode <= _drainedEpisode) return;   // its drained word already came
        _behindSince = now;
        _behindEpisode = episode;
    }

    public void GatewayCaughtUp(int episode)
    {
        if (episode > _drainedEpisode) _drainedEpisode = episode;
        if (episode < _behindEpisode) return;   // a late word about an earlier episode ends nothing
        _behindSince = 0;
        Wake();
    }

    /// <summary>Whether the next page of stored events may be read for this connection now.</summary>
    public bool HasRoom(long roomBelow, TimeProvider time)
    {
        if (QueuedBytes >= roomBelow) return false;
        if (_behindSince == 0) return true;
        if (time.GetElapsedTime(_behindSince) < BehindPause) return false;
        _behindSince = 0;
        return true;
    }

    /// <summary>Completes on <see cref="Dequeue"/> under the bound, on <see cref="Wake"/>, or when a gateway pause runs out.</summary>
    public Task WaitForRoomAsync(TimeProvider time)
    {
        _room ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (_behindSince == 0) return _room.Task;
        var left = BehindPause - time.GetElapsedTime(_behindSince);
        if (left <= TimeSpan.Zero)
        {
            _behindSince = 0;   // the pause ran out; what is left to wait for is the bytes held here
            return _room.Task;
        }
        return Task.WhenAny(_room.Task, Task.Delay(left, time));
    }

    public void Queue(long bytes) => QueuedBytes += bytes;

    public void Dequeue(long bytes, long roomBelow)
    {
        QueuedBytes -= bytes;
        if (QueuedBytes < roomBelow) Wake();
    }

    /// <summary>Lets a waiting catch-up look again (its subscription may be gone).</summary>
    public void Wake()
    {
        var room = _room;
        _room = null;
        room?.TrySetResult();
    }
}
