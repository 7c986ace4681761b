using System.Diagnostics.Tracing;
using System.Globalization;
using System.Net.WebSockets;
using Microsoft.Diagnostics.NETCore.Client;
using NostrRelay.Benchmarks.Relay;
using NostrRelay.Benchmarks.Reporting;

namespace NostrRelay.Benchmarks.Scenarios;

/// <summary>
/// What an idle connection costs the relay: a fresh relay per round; its memory after a full collection with no
/// clients, then with 10,000 WebSockets open and idle (1,000 with --quick); the difference per connection of the
/// managed heap (the runtime's live bytes after that collection) and of resident memory (which also holds what the GC
/// keeps committed but free, and the native side of sockets). The collection is the runtime's own, asked for over its
/// diagnostics port (as dotnet-gcdump does), so nothing in the relay has to offer it; a resident-memory delta without
/// it is noise at this size for a GC runtime. Resident memory less the GC's committed bytes is not used as "native":
/// committed pages the GC never touched are not resident, so that difference can go below zero.
/// </summary>
internal static class IdleConnectionsScenario
{
    private const string Name = "idle-connections";
    private const int OpenAtOnce = 64;

    public static async Task RunAsync(ScenarioContext context)
    {
        var count = context.Options.Quick ? 1_000 : 10_000;
        var managed = new List<double>();
        var resident = new List<double>();
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
                managed.Add((after.Managed - before.Managed) / (double)sockets.Count);
                resident.Add((after.Resident - before.Resident) / (double)sockets.Count);
                ScenarioContext.Progress($"{Name} round {round}: {sockets.Count} open; managed {before.Managed:N0} → {after.Managed:N0} B, resident {before.Resident:N0} → {after.Resident:N0} B");
                context.Report.Note($"{Name} round {round}: {sockets.Count} connections; managed heap {before.Managed:N0} → {after.Managed:N0} bytes, resident {before.Resident:N0} → {after.Resident:N0} bytes.");
            }
            finally
            {
                foreach (var socket in sockets) socket.Abort();
                foreach (var socket in sockets) socket.Dispose();
            }
            context.CollectRelayProblems(relay, Name);
        }
        context.Report.Row($"{Name}: memory per idle connection, {count:N0} open, after a full collection (median of {managed.Count})",
            $"managed heap {Kb(Median(managed))} KB · resident {Kb(Median(resident))} KB");
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

    private readonly record struct Memory(long Managed, long Resident);

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
        long heap = 0;
        foreach (var line in metrics.Split('\n'))
            if (line.StartsWith("dotnet_gc_last_collection_heap_size_bytes{", StringComparison.Ordinal)) heap += (long)Value(line);
        return new Memory(heap, ResidentBytes(relay.Pid));
    }

    private static double Value(string line) => double.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture);

    private static long ResidentBytes(int pid)
    {
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
        return 0;
    }
}
