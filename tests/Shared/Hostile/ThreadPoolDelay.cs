using System.Diagnostics;

namespace NostrRelay.Testing.Hostile;

/// <summary>
/// How long work queued to this process's thread pool waited to start, sampled every 20 ms from a thread of its own.
/// The honest client's latencies are taken by this process's socket loops: a wait here (another test blocking pool
/// threads until the pool adds more, which it does about twice a second) shows as relay latency that is not the relay's.
/// </summary>
public sealed class ThreadPoolDelay : IDisposable
{
    private static readonly TimeSpan Period = TimeSpan.FromMilliseconds(20);

    private readonly Thread _sampler;
    private readonly ManualResetEventSlim _stop = new();
    private long _maxTicks;

    public ThreadPoolDelay()
    {
        _sampler = new Thread(Sample) { IsBackground = true, Name = "thread-pool delay probe" };
        _sampler.Start();
    }

    /// <summary>The longest wait seen so far, in milliseconds.</summary>
    public double MaxMs => Interlocked.Read(ref _maxTicks) * 1000.0 / Stopwatch.Frequency;

    /// <summary>Forgets the waits seen so far.</summary>
    public void Reset() => Interlocked.Exchange(ref _maxTicks, 0);

    private void Sample()
    {
        var started = new ManualResetEventSlim();   // not disposed: a sample still queued when the probe stops sets it later
        while (!_stop.Wait(Period))
        {
            started.Reset();
            var queued = Stopwatch.GetTimestamp();
            ThreadPool.UnsafeQueueUserWorkItem(_ =>
            {
                Record(Stopwatch.GetTimestamp() - queued);
                started.Set();
            }, null);
            // Until it ran: a pool that is stalled for a second is one sample of a second, not fifty piled up.
            while (!started.Wait(Period))
            {
                Record(Stopwatch.GetTimestamp() - queued);
                if (_stop.IsSet) return;
            }
        }
    }

    private void Record(long ticks)
    {
        var seen = Interlocked.Read(ref _maxTicks);
        while (ticks > seen)
        {
            var was = Interlocked.CompareExchange(ref _maxTicks, ticks, seen);
            if (was == seen) return;
            seen = was;
        }
    }

    public void Dispose()
    {
        _stop.Set();
        _sampler.Join();
        _stop.Dispose();
    }
}
