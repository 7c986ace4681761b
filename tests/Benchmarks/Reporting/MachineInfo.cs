using System.Diagnostics;
using System.Runtime.InteropServices;

namespace NostrRelay.Benchmarks.Reporting;

/// <summary>The lines that say where figures came from: they are only comparable on a like machine.</summary>
internal static class MachineInfo
{
    public static IEnumerable<string> Describe(string relayCommit)
    {
        yield return $"Measured {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC on {Environment.ProcessorCount} cores ({CpuModel()}), " +
            $"{MemoryGiB()} RAM, {RuntimeInformation.OSDescription}, .NET {Environment.Version}; relay commit {relayCommit}. " +
            $"Relay and load generator share the cores; loopback WebSockets; fsync of 4 KiB in {Path.GetTempPath()}: {FsyncP50()} (p50 of 20).";
    }

    /// <summary>
    /// The store commits with synchronous=FULL, so every OK (and every live delivery, which waits for the
    /// commit) includes a disk flush: this says what one costs here, which differs a lot between machines.
    /// </summary>
    private static string FsyncP50()
    {
        var path = Path.Combine(Path.GetTempPath(), $"nostr-bench-fsync-{Environment.ProcessId}");
        try
        {
            var block = new byte[4096];
            var samples = new double[20];
            using (var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1, FileOptions.None))
            {
                for (var i = 0; i < samples.Length; i++)
                {
                    var started = Stopwatch.GetTimestamp();
                    file.Write(block);
                    file.Flush(flushToDisk: true);
                    samples[i] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                }
            }
            Array.Sort(samples);
            return $"{Report.Ms(samples[samples.Length / 2])} ms";
        }
        catch (IOException ex)
        {
            return "not measured (" + ex.Message + ")";
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static string CpuModel()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/cpuinfo"))
                if (line.StartsWith("model name", StringComparison.Ordinal)) return line[(line.IndexOf(':') + 1)..].Trim();
        }
        catch (IOException)
        {
        }
        return "unknown CPU";
    }

    private static string MemoryGiB()
    {
        var bytes = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        return $"{bytes / (1024.0 * 1024 * 1024):0} GiB";
    }
}
