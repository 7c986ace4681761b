using System.Diagnostics;
using NostrRelay.Connections;
using NostrRelay.Grains;
using NostrRelay.Metrics;
using NostrRelay.Protocol;

namespace NostrRelay.Information;

/// <summary>
/// The figures the landing page shows a person: connections open on this gateway, events stored (a COUNT of
/// everything, kept for 30 s: on a large store it is not free), and events accepted per second on this gateway over
/// the last sampled interval (sampled every 10 s).
/// </summary>
internal sealed class LiveFigures : IDisposable
{
    private static readonly TimeSpan StoredFor = TimeSpan.FromSeconds(30);

    private readonly GatewayShards _shards;
    private readonly IGrainFactory _grains;
    private readonly RelayMetrics _metrics;
    private readonly Timer _sampler;
    private (long Ticks, long Accepted) _sample;
    private double? _perSecond;

    public LiveFigures(GatewayShards shards, IGrainFactory grains, RelayMetrics metrics)
    {
        _shards = shards;
        _grains = grains;
        _metrics = metrics;
        _sample = (Stopwatch.GetTimestamp(), metrics.AcceptedTotal);
        _sampler = new Timer(_ => Sample(), null, TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(10));
    }

    public long Connections => _shards.Connections.LongCount();

    /// <summary>Events accepted per second over the last 10 s, or null before the first sample.</summary>
    public double? EventsPerSecond => _perSecond;

    /// <summary>
    /// How many events the store holds (all of them, as COUNT sees them), as last counted; null before the first count
    /// ends. A request never waits for a count: at most one runs at a time, started when the last is 30 s old (or
    /// failed 30 s ago), and its answer is kept whenever it comes.
    /// </summary>
    public long? EventsStored
    {
        get
        {
            if (Stopwatch.GetElapsedTime(Interlocked.Read(ref _storedAt)) >= StoredFor && Interlocked.CompareExchange(ref _counting, 1, 0) == 0)
                _ = CountAsync();
            var count = Interlocked.Read(ref _stored);
            return count < 0 ? null : count;
        }
    }

    private long _stored = -1;
    private long _storedAt = long.MinValue / 2;
    private int _counting;

    private async Task CountAsync()
    {
        try
        {
            var result = await _grains.GetGrain<ICountGrain>(0).CountAsync(new CountRequest([new Filter()]));
            Interlocked.Exchange(ref _stored, result.Count);
        }
        catch (Exception)
        {
            // Shown as it was (or "—"); tried again in 30 s.
        }
        finally
        {
            Interlocked.Exchange(ref _storedAt, Stopwatch.GetTimestamp());
            Volatile.Write(ref _counting, 0);
        }
    }

    private void Sample()
    {
        var now = (Ticks: Stopwatch.GetTimestamp(), Accepted: _metrics.AcceptedTotal);
        var seconds = Stopwatch.GetElapsedTime(_sample.Ticks, now.Ticks).TotalSeconds;
        if (seconds > 0) _perSecond = (now.Accepted - _sample.Accepted) / seconds;
        _sample = now;
    }

    public void Dispose() => _sampler.Dispose();
}
