namespace NostrRelay.Benchmarks.Scenarios;

/// <summary>
/// Cancels a phase that makes no progress for <c>quiet</c>: a stalled relay must end the run with a
/// report of how far it got, not hang it. Progress is whatever the phase counts with <see cref="Tick"/>.
/// </summary>
internal sealed class Watchdog : IDisposable
{
    private readonly CancellationTokenSource _cancel = new();
    private readonly TimeSpan _quiet;
    private readonly Timer _timer;
    private long _progress;
    private long _lastSeen = -1;
    private DateTime _lastChange = DateTime.UtcNow;

    public Watchdog(TimeSpan quiet)
    {
        _quiet = quiet;
        _timer = new Timer(_ => Check(), null, TimeSpan.FromMilliseconds(500), TimeSpan.FromMilliseconds(500));
    }

    public CancellationToken Token => _cancel.Token;

    /// <summary>True once the watchdog (not the phase itself) cancelled the phase.</summary>
    public bool Stalled { get; private set; }

    public void Tick() => Interlocked.Increment(ref _progress);

    /// <summary>Ends the phase now (one of its parts failed and the others would wait for it in vain).</summary>
    public void Abort() => _cancel.Cancel();

    private void Check()
    {
        var progress = Interlocked.Read(ref _progress);
        if (progress != _lastSeen)
        {
            _lastSeen = progress;
            _lastChange = DateTime.UtcNow;
            return;
        }
        if (DateTime.UtcNow - _lastChange < _quiet || _cancel.IsCancellationRequested) return;
        Stalled = true;
        _cancel.Cancel();
    }

    public void Dispose()
    {
        _timer.Dispose();
        _cancel.Dispose();
    }
}
