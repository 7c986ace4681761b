using Orleans;

namespace NostrRelay.Connections;

/// <summary>
/// For a gateway-only process: Orleans' client does not fail the calls it has in flight when a gateway connection
/// closes (a silo killed under it), so those calls, and every EVENT of their authors behind them, would wait out
/// <c>Orleans:ResponseTimeout</c>. A call waits on <see cref="CallsInFlight"/> as well; when the client loses a gateway,
/// every call in flight at that moment stops waiting and is sent once more (which is safe: an append that did commit
/// comes back a duplicate). The client cannot tell which calls went through the lost gateway, so calls through
/// others are sent again too; that costs a duplicate check, not an event. In a silo the runtime fails calls to a dead
/// silo itself, and nothing triggers this.
/// </summary>
internal sealed class ClusterCallWatch : IClusterConnectionStatusObserver
{
    private CancellationTokenSource _current = new();

    /// <summary>Cancelled when a gateway connection is lost after the call began.</summary>
    public CancellationToken CallsInFlight => Volatile.Read(ref _current).Token;

    /// <summary>How many times calls in flight were let go.</summary>
    public long Breaks => Interlocked.Read(ref _breaks);
    private long _breaks;

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
