using Orleans;

namespace NostrRelay.Connections;

/// <summary>
/// For a gateway-only process: Orleans' client does not fail the calls it has in flight when a gateway connection
/// closes (a silo killed under it), so those calls, and whatever waits behind them (an author's later EVENTs, a
/// connection's REQs, a shard's check-in), would wait out <c>Orleans:ResponseTimeout</c>. A call waits on
/// <see cref="CallsInFlight"/> as well; when the client loses a gateway, every call in flight at that moment stops
/// waiting and is made once more. Only calls that are safe to repeat go through here: an append that did commit comes
/// back a duplicate, a REQ registered twice replaces itself, a count or a read is read again. The client cannot tell
/// which calls went through the lost gateway, so calls through others are made again too; that costs a repeat, not
/// an answer. In a silo the runtime fails calls to a dead silo itself: there the watch is off, and calls go straight
/// through, with no wait on a token that is never cancelled (two of those per REQ were a few percent of a query's CPU).
/// </summary>
/// <param name="watching">False in a silo, where nothing reports a lost gateway.</param>
internal sealed class ClusterCallWatch(bool watching = true) : IClusterConnectionStatusObserver
{
    private CancellationTokenSource _current = new();

    /// <summary>Cancelled when a gateway connection is lost after the call began; one that cannot be, with the watch off.</summary>
    public CancellationToken CallsInFlight => watching ? Volatile.Read(ref _current).Token : CancellationToken.None;

    /// <summary>How many times calls in flight were let go.</summary>
    public long Breaks => Interlocked.Read(ref _breaks);
    private long _breaks;

    /// <summary>
    /// The call's answer, the call made once more if a gateway was lost while it was out. Throws
    /// <see cref="ClusterConnectionLostException"/> if a gateway is lost during the second try too.
    /// </summary>
    public Task<T> CallAsync<T>(Func<Task<T>> call) => watching ? WatchAsync(call) : Straight(call);

    /// <summary>The call's own task; one that throws before it returns a task fails the task instead, as an async call would.</summary>
    private static Task<T> Straight<T>(Func<Task<T>> call)
    {
        try { return call(); }
        catch (Exception ex) { return Task.FromException<T>(ex); }
    }

    private async Task<T> WatchAsync<T>(Func<Task<T>> call)
    {
        for (var attempt = 1; ; attempt++)
        {
            var lost = CallsInFlight;
            var pending = call();
            try
            {
                return await pending.WaitAsync(lost);
            }
            catch (OperationCanceledException) when (lost.IsCancellationRequested)
            {
                Abandon(pending);
                if (attempt == 2) throw new ClusterConnectionLostException();
            }
        }
    }

    /// <inheritdoc cref="CallAsync{T}(Func{Task{T}})"/>
    public Task CallAsync(Func<Task> call) => !watching ? Straight(call) : WatchAsync(async () =>
    {
        await call();
        return true;
    });

    private static Task Straight(Func<Task> call)
    {
        try { return call(); }
        catch (Exception ex) { return Task.FromException(ex); }
    }

    /// <summary>An abandoned call still ends (answered or timed out): its failure is observed here, not left unobserved.</summary>
    public static void Abandon(Task call) =>
        _ = call.ContinueWith(static abandoned => _ = abandoned.Exception, CancellationToken.None,
            TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);

    public void NotifyGatewayCountChanged(int currentNumberOfGateways, int previousNumberOfGateways, bool connectionRecovered)
    {
        if (currentNumberOfGateways < previousNumberOfGateways) Break();
    }

    /// <summary>Orleans reports the last gateway's loss as a count change too; breaking here as well would let go of the calls sent again after the first break.</summary>
    public void NotifyClusterConnectionLost() { }

    private void Break()
    {
        var lost = Interlocked.Exchange(ref _current, new CancellationTokenSource());
        Interlocked.Increment(ref _breaks);
        // Not on Orleans' connection thread: the waits it releases run their continuations where it cancels.
        ThreadPool.UnsafeQueueUserWorkItem(static source => source.Cancel(), lost, preferLocal: false);
    }
}
