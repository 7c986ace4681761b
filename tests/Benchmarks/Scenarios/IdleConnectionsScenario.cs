using System.Diagnostics.Tracing;
using System.Globalization;
using System.Net.WebSockets;
using Microsoft.Diagnostics.NETCore.Client;
using NostrRelay.Benchmarks.Relay;
using NostrRelay.Benchmarks.Reporting;

namespace NostrRelay.Benchmarks.Scenarios;

/// <summary>
/// What an idle connection costs the relay: a fresh relay per round; its memory after a full collection with no
/// clients, then with 10,000 WebSockets open and idle (1,000 with --quick), 2 s after they opened and again after
/// the relay's own memory trim had its chance; the difference per connection of the
/// managed heap (the runtime's live bytes after that collection) and of resident memory (which also holds what the GC
/// keeps committed but free, and the native side of sockets). The collection is the runtime's own, asked for over its
/// diagnostics port (as dotnet-gcdump does), so nothing in the relay has to offer it; a resident-memory delta without
/// it is noise at this size for a GC runtime. Resident memory less the GC's committed bytes is not used as "native":
/// committed pages the GC never touched are not resident, so that difference can go below zero. Native memory is the
/// resident memory outside the GC's reserved address range instead (read from /proc/PID/smaps): sockets' runtime
/// state, the allocator's heaps, and the GC's own bookkeeping, which grows with the heap.
/// </summary>
internal static class IdleConnectionsScenario
{
    private const string Name = "idle-connections";
    private const int OpenAtOnce = 64;

    /// <summary>
    /// The relay's own memory trim (Silo's MemoryTrim) checks every 30 s and compacts once the heap stopped growing
    /// after a spike: by this long after the connections opened it has run, and the heap's holes are gone.
    /// </summary>
    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(75);

    public static async Task RunAsync(ScenarioContext context)
    {
        var count = context.Options.Quick ? 1_000 : 10_000;
        var opened = new PerConnection();
        var settled = new PerConnection();
        for (var round = 1; round <= context.Options.Rounds; round++)
        {
            await using var relay = await context.StartRelayAsync();
            await relay.WaitUntilReadyAsync(TimeSpan.FromSeconds(30));
            await HoldAsync(relay.Uri, 10, TimeSpan.FromMilliseconds(500));   // the JIT and the pools of a first connection
            var before = await MeasureAsync(relay);
            var sockets = await OpenAsync(relay.Uri, count);
            try
            {
                await Task.Delay(TimeSpan.FromSeconds(2));   // past the first keep-alive ping
                var after = await MeasureAsync(relay);
                opened.Add(before, after, sockets.Count);
                Note(context, $"round {round}, 2 s after opening {sockets.Count} connections", before, after);
                await Task.Delay(Settle);
                var later = await MeasureAsync(relay);
                settled.Add(before, later, sockets.Count);
                Note(context, $"round {round}, {Settle.TotalSeconds:0} s later", before, later);
            }
            finally
            {
                foreach (var socket in sockets) socket.Abort();
                foreach (var socket in sockets) socket.Dispose();
            }
            context.CollectRelayProblems(relay, Name);
        }
        context.Report.Row($"{Name}: memory per idle connection, {count:N0} open, 2 s after opening, after a full collection (median of {opened.Rounds})", opened.Summary());
        context.Report.Row($"{Name}: the same, {Settle.TotalSeconds:0} s later (past the relay's memory trim)", settled.Summary());
    }

    private static void Note(ScenarioContext context, string when, Memory before, Memory after)
    {
        ScenarioContext.Progress($"{Name} {when}: managed {before.Managed:N0} → {after.Managed:N0} B (fragmentation {before.Fragmentation:N0} → {after.Fragmentation:N0} B), native {before.Native:N0} → {after.Native:N0} B, resident {before.Resident:N0} → {after.Resident:N0} B");
        context.Report.Note($"{Name} {when}: managed heap {before.Managed:N0} → {after.Managed:N0} bytes (free space between objects {before.Fragmentation:N0} → {after.Fragmentation:N0}), native {before.Native:N0} → {after.Native:N0} bytes, resident {before.Resident:N0} → {after.Resident:N0} bytes.");
    }

    /// <summary>The differences per connection, one per round.</summary>
    private sealed class PerConnection
    {
        private readonly List<double> _managed = [], _live = [], _native = [], _resident = [];

        public int Rounds => _managed.Count;

        public void Add(Memory before, Memory after, int connections)
        {
            _managed.Add((after.Managed - before.Managed) / (double)connections);
            _live.Add((after.Managed - after.Fragmentation - (before.Managed - before.Fragmentation)) / (double)connections);
            _native.Add((after.Native - before.Native) / (double)connections);
            _resident.Add((after.Resident - before.Resident) / (double)connections);
        }

        public string Summary() =>
            $"managed heap {Kb(Median(_managed))} KB (live objects {Kb(Median(_live))} KB) · native {Kb(Median(_native))} KB · resident {Kb(Median(_resident))} KB";
    }

    private static string Kb(double bytes) => (bytes / 1024).ToString("0.00", CultureInfo.InvariantCulture);

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count == 0 ? double.NaN : sorted[sorted.Count / 2];
    }

    private static async Task HoldAsync(Uri uri, int count, TimeSpan time)
    {
        var sockets = await OpenAsync(uri, count);
        await Task.Delay(time);
        foreach (var socket in sockets)
        {
            try { await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "", CancellationToken.None); }
            catch (WebSocketException) { }
            socket.Dispose();
        }
    }

    private static async Task<List<ClientWebSocket>> OpenAsync(Uri uri, int count)
    {
        var sockets = new List<ClientWebSocket>(count);
        using var gate = new SemaphoreSlim(OpenAtOnce);
        var opening = Enumerable.Range(0, count).Select(async _ =>
        {
            await gate.WaitAsync();
            try
            {
                var socket = new ClientWebSocket();
                socket.Options.KeepAliveInterval = TimeSpan.Zero;
                await socket.ConnectAsync(uri, CancellationToken.None);
                lock (sockets) sockets.Add(socket);
            }
            finally
            {
                gate.Release();
            }
        });
        await Task.WhenAll(opening);
        return sockets;
    }

    /// <param name="Native">Resident bytes outside the GC's reserved range.</param>
    /// <param name="Fragmentation">Free space between the managed heap's objects, part of <paramref name="Managed"/>.</param>
    private readonly record struct Memory(long Managed, long Resident, long Native, long Fragmentation);

    /// <summary>Asks the relay's runtime for a full collection, then reads what it left.</summary>
    private static async Task<Memory> MeasureAsync(RelayProcess relay)
    {
        var client = new DiagnosticsClient(relay.Pid);
        // The runtime provider's GCHeapCollect keyword makes the runtime run a full, blocking collection.
        const long GcHeapCollect = 0x800000;
        using (var session = client.StartEventPipeSession(
                   [new EventPipeProvider("Microsoft-Windows-DotNETRuntime", EventLevel.Informational, GcHeapCollect)], requestRundown: false))
        {
            var draining = Task.Run(() => session.EventStream.CopyTo(Stream.Null));
            await Task.Delay(TimeSpan.FromSeconds(1));
            session.Stop();
            await draining;
        }
        var metrics = await relay.ReadMetricsAsync();
        long heap = 0, fragmentation = 0;
        foreach (var line in metrics.Split('\n'))
        {
            if (line.StartsWith("dotnet_gc_last_collection_heap_size_bytes{", StringComparison.Ordinal)) heap += (long)Value(line);
            if (line.StartsWith("dotnet_gc_last_collection_heap_fragmentation_size_bytes{", StringComparison.Ordinal)) fragmentation += (long)Value(line);
        }
        return new Memory(heap, ResidentBytes(relay.Pid), NativeBytes(relay.Pid), fragmentation);
    }

    private static double Value(string line) => double.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture);

    /// <summary>
    /// Resident bytes of every mapping outside the GC's range. The GC reserves its range (a power of two, 256 GiB by
    /// default) at once and commits regions from its low end, which splits them off the reservation: what is left
    /// reserved is the largest mapping of the process, and it ends where the range ends.
    /// </summary>
    private static long NativeBytes(int pid)
    {
        var maps = new List<(ulong Start, ulong End, long Rss)>();
        foreach (var line in File.ReadLines($"/proc/{pid}/smaps"))
        {
            var dash = line.IndexOf('-');
            var space = line.IndexOf(' ');
            if (dash > 0 && space > dash && ulong.TryParse(line.AsSpan(0, dash), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var start)
                && ulong.TryParse(line.AsSpan(dash + 1, space - dash - 1), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var end))
                maps.Add((start, end, 0));
            else if (line.StartsWith("Rss:", StringComparison.Ordinal) && maps.Count > 0)
                maps[^1] = maps[^1] with { Rss = long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024 };
        }
        var reserved = maps.MaxBy(map => map.End - map.Start);
        var rangeEnd = reserved.End;
        var rangeStart = rangeEnd - System.Numerics.BitOperations.RoundUpToPowerOf2(reserved.End - reserved.Start);
        long native = 0;
        foreach (var map in maps)
            if (map.End <= rangeStart || map.Start >= rangeEnd) native += map.Rss;
        return native;
    }

    private static long ResidentBytes(int pid)
    {
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
        return 0;
    }
}
