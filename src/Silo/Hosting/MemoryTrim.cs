using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace NostrRelay.Silo.Hosting;

/// <summary>
/// Gives memory back to the machine after a spike. The server GC keeps what it committed for a burst (a REQ flood,
/// clients that stopped reading) long after the objects are gone, and a quiet relay allocates too little to
/// trigger the collections that would shrink it. Every 30 s this looks at what the GC has committed: once it holds
/// more than <see cref="Slack"/> over its floor (what it held at start, or right after the last trim) and has stopped
/// growing (the spike is over), one compacting full collection returns the rest (a pause of milliseconds for a relay's
/// heap), at most once a minute. A relay whose live heap is large simply gets a higher floor after its first trim.
/// </summary>
internal sealed partial class MemoryTrim(ILogger<MemoryTrim> logger) : BackgroundService
{
    private static readonly TimeSpan CheckEvery = TimeSpan.FromSeconds(30);
    private const long Slack = 48L * 1024 * 1024;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(CheckEvery);
        var floor = GC.GetGCMemoryInfo().TotalCommittedBytes;
        var previous = floor;
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                var committed = GC.GetGCMemoryInfo().TotalCommittedBytes;
                floor = Math.Min(floor, committed);
                var growing = committed > previous;
                previous = committed;
                if (growing || committed < floor + Slack) continue;
                GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true);
                previous = floor = GC.GetGCMemoryInfo().TotalCommittedBytes;
                LogTrimmed(logger, committed / (1024 * 1024), previous / (1024 * 1024));
                await Task.Delay(CheckEvery, stoppingToken);   // at most once a minute
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    [LoggerMessage(EventId = 700, Level = LogLevel.Debug, Message = "Returned GC memory after a spike: {BeforeMiB} MiB committed, now {AfterMiB} MiB")]
    private static partial void LogTrimmed(ILogger logger, long beforeMiB, long afterMiB);
}
