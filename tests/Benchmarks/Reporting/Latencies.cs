using System.Diagnostics;

namespace NostrRelay.Benchmarks.Reporting;

/// <summary>Latency samples in <see cref="Stopwatch"/> ticks; one writer per instance, merged after the phase.</summary>
internal sealed class Latencies(int capacity)
{
    private long[] _samples = new long[Math.Max(capacity, 16)];
    private bool _sorted;

    public int Count { get; private set; }

    public void Add(long elapsedTicks)
    {
        if (Count == _samples.Length) Array.Resize(ref _samples, _samples.Length * 2);
        _samples[Count++] = elapsedTicks;
        _sorted = false;
    }

    public static Latencies Merge(IEnumerable<Latencies> parts)
    {
        var list = parts.ToList();
        var merged = new Latencies(list.Sum(p => p.Count));
        foreach (var part in list)
        {
            Array.Copy(part._samples, 0, merged._samples, merged.Count, part.Count);
            merged.Count += part.Count;
        }
        return merged;
    }

    /// <summary>Nearest-rank percentile in milliseconds; NaN without samples.</summary>
    public double PercentileMs(double percentile)
    {
        if (Count == 0) return double.NaN;
        if (!_sorted)
        {
            Array.Sort(_samples, 0, Count);
            _sorted = true;
        }
        var rank = (int)Math.Ceiling(percentile / 100.0 * Count);
        var ticks = _samples[Math.Clamp(rank - 1, 0, Count - 1)];
        return ticks * 1000.0 / Stopwatch.Frequency;
    }

    /// <summary>"p50 / p99 ms", as the peers' table writes it.</summary>
    public string P50P99() => $"{Report.Ms(PercentileMs(50))} / {Report.Ms(PercentileMs(99))} ms";
}
