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
    private (long Ticks, long? Count) _stored = (0, null);

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

    /// <summary>How many events the store holds (all of them, as COUNT sees them), or null when it did not answer within 2 s.</summary>
    public async Task<long?> EventsStoredAsync()
    {
        var (ticks, count) = _stored;
        if (count is not null && Stopwatch.GetElapsedTime(ticks) < StoredFor) return count;
        try
        {
            var result = await _grains.GetGrain<ICountGrain>(0).CountAsync(new CountRequest([new Filter()])).WaitAsync(TimeSpan.FromSeconds(2));
            _stored = (Stopwatch.GetTimestamp(), result.Count);
            return result.Count;
        }
        catch (Exception ex) when (ex is TimeoutException or OrleansException)
        {
            return count;
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
