using System.Diagnostics;

namespace NostrRelay.Benchmarks.Relay;

/// <summary>
/// CPU time (user + system) of a process, from <c>/proc/&lt;pid&gt;/stat</c> in clock ticks. Read before and
/// after a phase: the difference is what that phase cost, across all of the process's threads.
/// </summary>
internal static class ProcessCpu
{
    private static readonly Lazy<long> TicksPerSecond = new(ReadClockTicks);

    public static TimeSpan Read(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        // The command name (field 2) is in parentheses and may hold spaces: count fields after its ')'.
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        var ticks = long.Parse(fields[11]) + long.Parse(fields[12]);   // fields 14 (utime) and 15 (stime)
        return TimeSpan.FromSeconds((double)ticks / TicksPerSecond.Value);
    }

    public static TimeSpan ReadSelf() => Read(Environment.ProcessId);

    /// <summary>
    /// Busy time of the whole machine, all cores (the first line of <c>/proc/stat</c>: user, nice, system, irq,
    /// softirq, steal): what is left after the relay and the load generator is mostly PostgreSQL's.
    /// </summary>
    public static TimeSpan ReadMachine()
    {
        using var stat = new StreamReader("/proc/stat");
        var fields = stat.ReadLine()!.Split(' ', StringSplitOptions.RemoveEmptyEntries);   // "cpu user nice system idle iowait irq softirq steal ..."
        long ticks = 0;
        foreach (var field in (int[])[1, 2, 3, 6, 7, 8]) ticks += long.Parse(fields[field]);
        return TimeSpan.FromSeconds((double)ticks / TicksPerSecond.Value);
    }

    /// <summary><c>getconf CLK_TCK</c>; 100 on every Linux this runs on, which is the fallback.</summary>
    private static long ReadClockTicks()
    {
        try
        {
            using var getconf = Process.Start(new ProcessStartInfo("getconf", "CLK_TCK") { RedirectStandardOutput = true, UseShellExecute = false });
            if (getconf is null) return 100;
            var text = getconf.StandardOutput.ReadToEnd();
            getconf.WaitForExit();
            return long.TryParse(text.Trim(), out var ticks) && ticks > 0 ? ticks : 100;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return 100;
        }
    }
}
