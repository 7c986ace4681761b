using System.Runtime.InteropServices;

namespace NostrRelay.Benchmarks.Reporting;

/// <summary>The lines that say where figures came from: they are only comparable on a like machine.</summary>
internal static class MachineInfo
{
    public static IEnumerable<string> Describe(string relayCommit)
    {
        yield return $"Measured {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC on {Environment.ProcessorCount} cores ({CpuModel()}), " +
            $"{MemoryGiB()} RAM, {RuntimeInformation.OSDescription}, .NET {Environment.Version}; relay commit {relayCommit}. " +
            "Relay and load generator share the cores; loopback WebSockets.";
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
