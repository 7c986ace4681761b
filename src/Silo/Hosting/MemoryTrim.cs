using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace NostrRelay.Silo.Hosting;

/// <summary>
/// Gives memory back to the machine after a spike. The server GC keeps what it committed for a burst (a REQ flood,
/// clients that stopped reading) long after the objects are gone, and a quiet relay allocates too little to
/// trigger the collections that would shrink it. Every 30 s this compares what the GC has committed with its floor
/// (what it held at start, or right after the last trim): once it holds more than <see cref="Slack"/> above it, has
/// stopped growing (the spike is over) and the relay allocated less in the last 30 s than that surplus (a busy relay
/// is using it), one compacting full collection returns it: a pause of milliseconds for a relay's heap, at most
/// once a minute. A trim that returns little doubles the wait before the next one, up to an hour.
/// </summary>
internal sealed partial class MemoryTrim(ILogger<MemoryTrim> logger) : BackgroundService
{
    private static readonly TimeSpan CheckEvery = TimeSpan.FromSeconds(30);
    private const long Slack = 48L * 1024 * 1024;
    private const int MaxSkips = 120;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(CheckEvery);
        var floor = GC.GetGCMemoryInfo().TotalCommittedBytes;
        var previous = floor;
        var allocated = GC.GetTotalAllocatedBytes();
        var skips = 0;
        var skipping = 0;
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                var committed = GC.GetGCMemoryInfo().TotalCommittedBytes;
                var allocatedNow = GC.GetTotalAllocatedBytes();
                var recent = allocatedNow - allocated;
                allocated = allocatedNow;
                var growing = committed > previous;
                previous = committed;
                if (skipping > 0)
                {
                    skipping--;
                    continue;
                }
                var surplus = committed - floor;
                if (growing || surplus < Slack || recent >= surplus) continue;
                GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true);
                previous = floor = GC.GetGCMemoryInfo().TotalCommittedBytes;
                LogTrimmed(logger, committed / (1024 * 1024), floor / (1024 * 1024));
                skips = committed - floor < Slack ? Math.Min(MaxSkips, Math.Max(2, skips * 2)) : 1;   // at most once a minute
                skipping = skips;
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    [LoggerMessage(EventId = 700, Level = LogLevel.Debug, Message = "Returned GC memory after a spike: {BeforeMiB} MiB committed, now {AfterMiB} MiB")]
    private static partial void LogTrimmed(ILogger logger, long beforeMiB, long afterMiB);
}
