using System.Diagnostics;
using System.Globalization;

namespace NostrRelay.Benchmarks.Scenarios;

/// <summary>
/// Samples a process's resident memory (<c>/proc/&lt;pid&gt;/status</c> VmRSS) every 100 ms, so a phase's peak can be
/// read afterwards; VmHWM (the kernel's own high-water mark since the process started) is read on demand.
/// </summary>
internal sealed class RssSampler : IAsyncDisposable
{
    private readonly int _pid;
    private readonly List<(long At, long Kib)> _samples = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _sampling;

    public RssSampler(int pid)
    {
        _pid = pid;
        _sampling = Task.Run(SampleAsync);
    }

    /// <summary>VmRSS now, in MiB; NaN when the process is gone.</summary>
    public double CurrentMiB => Read("VmRSS:") / 1024.0;

    /// <summary>VmHWM now: the process's peak resident memory since it started, in MiB.</summary>
    public double HighWaterMiB => Read("VmHWM:") / 1024.0;

    /// <summary>The largest VmRSS sampled since <paramref name="from"/> (a <see cref="Stopwatch"/> timestamp), in MiB.</summary>
    public double PeakMiBSince(long from)
    {
        lock (_samples)
        {
            var peak = _samples.Where(s => s.At >= from).Select(s => s.Kib).DefaultIfEmpty(-1).Max();
            return peak < 0 ? double.NaN : peak / 1024.0;
        }
    }

    private async Task SampleAsync()
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(100));
        try
        {
            do
            {
                var kib = Read("VmRSS:");
                if (double.IsNaN(kib)) return;
                lock (_samples) _samples.Add((Stopwatch.GetTimestamp(), (long)kib));
            }
            while (await timer.WaitForNextTickAsync(_stop.Token));
        }
        catch (OperationCanceledException)
        {
        }
    }

    private double Read(string field)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{_pid}/status"))
                if (line.StartsWith(field, StringComparison.Ordinal))
                    return long.Parse(line.AsSpan(field.Length).Trim().TrimEnd("kB").Trim(), CultureInfo.InvariantCulture);
        }
        catch (IOException)
        {
        }
        return double.NaN;
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        await _sampling;
        _stop.Dispose();
    }
}
