using System.Diagnostics;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using NostrRelay.Benchmarks.Relay;
using NostrRelay.Benchmarks.Reporting;
using NostrRelay.Protocol;
using NostrRelay.Storage;
using NostrRelay.Storage.Sqlite;
using NostrRelay.Sync;
using NostrRelay.Testing;

namespace NostrRelay.Benchmarks.Scenarios;

/// <summary>
/// NIP-77 against the alternative it replaces. A relay's Sqlite store is filled directly (ids are the events' real
/// hashes, signatures are not checked on reads), a client holds the same records but for a share it lacks and as many
/// of its own; the client then learns the difference (1) by negentropy over a WebSocket (this project's initiator,
/// 60,000-byte frames as nostr-tools sends) and (2) by reading every id with REQs of 5,000 (the relay's max_limit),
/// paging back with until. Time, bytes on the wire and rounds for each. Then the <c>sync</c> command's throughput:
/// signed events only on one relay, downloaded into another through its EVENT path.
/// </summary>
internal static class NegentropyScenario
{
    public static async Task RunAsync(ScenarioContext context)
    {
        var quick = context.Options.Quick;
        (int Size, double Share)[] cases = quick ? [(10_000, 0.01)] : [(100_000, 0.01), (1_000_000, 0.001)];
        var rows = new List<string[]>();
        foreach (var (size, share) in cases) rows.Add(await ReconcileAsync(context, size, share));
        context.Report.Table(["events", "difference", "negentropy: time / bytes / rounds", "REQ ids: time / bytes / requests", "time ratio", "bytes ratio"], rows);
        await SyncAsync(context, quick ? 2_000 : 20_000);
    }

    private static async Task<string[]> ReconcileAsync(ScenarioContext context, int size, double share)
    {
        var data = Directory.CreateTempSubdirectory("nostr-bench-neg-");
        try
        {
            var differ = Math.Max(2, (int)(size * share));
            ScenarioContext.Progress($"negentropy: filling a store with {size:N0} events");
            var events = await FillAsync(Path.Combine(data.FullName, "relay.db"), size);
            // The client lacks every events[i] with i % step == 0 (half the difference) and has as many of its own.
            var step = size / (differ / 2);
            var client = new NegentropySet.Builder();
            var lacks = 0;
            for (var i = 0; i < events.Length; i++)
            {
                if (i % step == 0 && lacks < differ / 2) { lacks++; continue; }
                client.Add(events[i].CreatedAt, events[i].Id);
            }
            var random = new Random(size);
            var own = differ - lacks;
            for (var i = 0; i < own; i++)
            {
                var id = new byte[32];
                random.NextBytes(id);
                client.Add((ulong)events[random.Next(events.Length)].CreatedAt, id);
            }
            var records = client.Build();

            var ports = FreePorts.Take(3);
            await using var relay = await RelayProcess.StartAsync(context.SiloDll, ports[0], [
                $"--Relay:Store:Path={Path.Combine(data.FullName, "relay.db")}",
                $"--Orleans:Endpoints:SiloPort={ports[1]}", $"--Orleans:Endpoints:GatewayPort={ports[2]}", $"--Relay:PublicUrls:0=ws://127.0.0.1:{ports[0]}/",
            ], TimeSpan.FromSeconds(60));
            await relay.WaitUntilReadyAsync(TimeSpan.FromSeconds(60));

            ScenarioContext.Progress($"negentropy: reconciling {size:N0} records, {differ:N0} different");
            var (negTime, negBytes, rounds, have, need) = await NegentropyAsync(relay.Uri, records);
            if (have != own || need != lacks) context.Report.Problem($"negentropy {size:N0}: have {have} (expected {own}), need {need} (expected {lacks})");
            ScenarioContext.Progress($"negentropy: the same by REQ");
            var (reqTime, reqBytes, requests, ids) = await RequestIdsAsync(relay.Uri);
            if (ids != size) context.Report.Problem($"REQ {size:N0}: read {ids} ids");
            context.CollectRelayProblems(relay, "negentropy");
            context.Report.Note($"negentropy {size:N0}: relay CPU over both {Report.Fixed(relay.CpuTime.TotalSeconds, "0.0")} s; the first NEG-MSG " +
                "includes reading the records from the store.");
            return [Report.Count(size), $"{Report.Count(differ)} ({share:P1})",
                $"{Report.Ms(negTime.TotalMilliseconds)} ms / {Bytes(negBytes)} / {rounds}",
                $"{Report.Ms(reqTime.TotalMilliseconds)} ms / {Bytes(reqBytes)} / {requests}",
                Report.Fixed(negTime / reqTime, "0.000") + "×", Report.Fixed((double)negBytes / reqBytes, "0.0000") + "×"];
        }
        finally
        {
            try { data.Delete(recursive: true); } catch (IOException) { }
        }
    }

    private static string Bytes(long bytes) => bytes >= 1_000_000 ? $"{bytes / 1e6:0.0} MB" : $"{bytes / 1e3:0.0} kB";

    /// <summary>Events of 1,000 authors over a year, kind 1, a tag and 100–300 characters of content each.</summary>
    internal static async Task<NostrEvent[]> FillAsync(string path, int size)
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var authors = Enumerable.Range(0, 1_000).Select(a => Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(BitConverter.GetBytes(a)))).ToArray();
        var sig = new string('0', 128);
        var events = new NostrEvent[size];
        Parallel.For(0, size, n =>
        {
            var author = authors[n % authors.Length];
            string[][] tags = [["t", $"topic{n % 50}"]];
            var content = $"note {n} " + new string('x', 100 + n % 200);
            var createdAt = now - 365L * 86_400 + (long)n * 365 * 86_400 / size;
            events[n] = CanonicalJson.CreateEvent(CanonicalJson.ComputeIdHex(author, createdAt, 1, tags, content), author, createdAt, 1, tags, content, sig);
        });
        await using var store = new SqliteEventStore(new SqliteEventStoreOptions { Path = path });
        await store.InitAsync();
        const int writers = 4;
        await Task.WhenAll(Enumerable.Range(0, writers).Select(w => Task.Run(async () =>
        {
            long head = 0;
            for (var i = w; i < events.Length; i += writers)
            {
                var saved = await store.SaveAsync(events[i], $"filler-{w}", head);
                if (saved.Outcome != SaveOutcome.Saved) throw new InvalidOperationException($"filling: {saved.Outcome}");
                head = saved.Version;
            }
        })));
        return events;
    }

    private static async Task<(TimeSpan Time, long Bytes, int Rounds, int Have, int Need)> NegentropyAsync(Uri relay, NegentropySet records)
    {
        using var socket = new ClientWebSocket();
        await socket.ConnectAsync(relay, CancellationToken.None);
        var clock = Stopwatch.StartNew();
        var protocol = new Negentropy(records, 60_000);
        var have = new List<byte[]>();
        var need = new List<byte[]>();
        long bytes = 0;
        var rounds = 0;
        var message = $"[\"NEG-OPEN\",\"bench\",{{}},\"{Convert.ToHexStringLower(protocol.Initiate())}\"]";
        while (true)
        {
            bytes += await SendAsync(socket, message);
            JsonElement frame;
            do
            {
                var (text, length) = await ReceiveAsync(socket);
                bytes += length;
                frame = JsonDocument.Parse(text).RootElement;
            }
            while (frame[0].GetString() is not ("NEG-MSG" or "NEG-ERR"));
            if (frame[0].GetString() == "NEG-ERR") throw new InvalidOperationException(frame.ToString());
            rounds++;
            var next = protocol.ReconcileAsInitiator(Convert.FromHexString(frame[2].GetString()!), have, need);
            if (next is null) break;
            message = $"[\"NEG-MSG\",\"bench\",\"{Convert.ToHexStringLower(next)}\"]";
        }
        bytes += await SendAsync(socket, "[\"NEG-CLOSE\",\"bench\"]");
        return (clock.Elapsed, bytes, rounds, have.Count, need.Count);
    }

    /// <summary>Every id by REQ, newest first in pages of 5,000, each page ending at the oldest created_at of the last.</summary>
    private static async Task<(TimeSpan Time, long Bytes, int Requests, int Ids)> RequestIdsAsync(Uri relay)
    {
        using var socket = new ClientWebSocket();
        await socket.ConnectAsync(relay, CancellationToken.None);
        var clock = Stopwatch.StartNew();
        var ids = new HashSet<string>(StringComparer.Ordinal);
        long bytes = 0;
        var requests = 0;
        long? until = null;
        while (true)
        {
            var filter = until is { } u ? $"{{\"limit\":5000,\"until\":{u}}}" : "{\"limit\":5000}";
            bytes += await SendAsync(socket, $"[\"REQ\",\"r{requests}\",{filter}]");
            requests++;
            var added = 0;
            long? oldest = null;
            while (true)
            {
                var (text, length) = await ReceiveAsync(socket);
                bytes += length;
                using var document = JsonDocument.Parse(text);
                var frame = document.RootElement;
                if (frame[0].GetString() == "EOSE") break;
                if (frame[0].GetString() != "EVENT") continue;
                if (ids.Add(frame[2].GetProperty("id").GetString()!)) added++;
                var createdAt = frame[2].GetProperty("created_at").GetInt64();
                oldest = oldest is { } o ? Math.Min(o, createdAt) : createdAt;
            }
            bytes += await SendAsync(socket, $"[\"CLOSE\",\"r{requests - 1}\"]");
            if (added == 0 || oldest is null) break;
            until = oldest;
        }
        return (clock.Elapsed, bytes, requests, ids.Count);
    }

    private static async Task<int> SendAsync(ClientWebSocket socket, string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        await socket.SendAsync(bytes, WebSocketMessageType.Text, true, CancellationToken.None);
        return bytes.Length;
    }

    private static readonly byte[] Buffer = new byte[1 << 20];

    private static async Task<(string Text, int Length)> ReceiveAsync(ClientWebSocket socket)
    {
        using var message = new MemoryStream();
        while (true)
        {
            var result = await socket.ReceiveAsync(Buffer, CancellationToken.None);
            message.Write(Buffer, 0, result.Count);
            if (result.EndOfMessage) break;
        }
        return (Encoding.UTF8.GetString(message.GetBuffer(), 0, (int)message.Length), (int)message.Length);
    }

    /// <summary>
    /// The sync command downloading <paramref name="count"/> signed events from one relay into another that has none:
    /// from its start to its summary, as an operator runs it.
    /// </summary>
    private static async Task SyncAsync(ScenarioContext context, int count)
    {
        var source = Directory.CreateTempSubdirectory("nostr-bench-sync-");
        var target = Directory.CreateTempSubdirectory("nostr-bench-sync-");
        try
        {
            ScenarioContext.Progress($"sync: signing {count:N0} events into one relay's store");
            var signer = NativeSchnorrSigner.Shared;
            var keys = Enumerable.Range(0, 100).Select(k => System.Security.Cryptography.SHA256.HashData(BitConverter.GetBytes(k + 7))).ToArray();
            var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
            var events = new NostrEvent[count];
            Parallel.For(0, count, i => events[i] = signer.Sign(keys[i % keys.Length], now - count + i, 1, [["t", "sync"]], $"sync bench {i}"));
            await using (var store = new SqliteEventStore(new SqliteEventStoreOptions { Path = Path.Combine(source.FullName, "relay.db") }))
            {
                await store.InitAsync();
                var heads = new Dictionary<string, long>();
                foreach (var evt in events)
                {
                    var saved = await store.SaveAsync(evt, evt.Pubkey, heads.GetValueOrDefault(evt.Pubkey));
                    heads[evt.Pubkey] = saved.Version;
                }
            }
            var ports = FreePorts.Take(6);
            await using var from = await RelayProcess.StartAsync(context.SiloDll, ports[0], [
                $"--Relay:Store:Path={Path.Combine(source.FullName, "relay.db")}", $"--Orleans:Endpoints:SiloPort={ports[1]}", $"--Orleans:Endpoints:GatewayPort={ports[2]}", $"--Relay:PublicUrls:0=ws://127.0.0.1:{ports[0]}/",
            ], TimeSpan.FromSeconds(60));
            await using var into = await RelayProcess.StartAsync(context.SiloDll, ports[3], [
                $"--Relay:Store:Path={Path.Combine(target.FullName, "relay.db")}", $"--Orleans:Endpoints:SiloPort={ports[4]}", $"--Orleans:Endpoints:GatewayPort={ports[5]}", $"--Relay:PublicUrls:0=ws://127.0.0.1:{ports[3]}/",
            ], TimeSpan.FromSeconds(60));
            await from.WaitUntilReadyAsync(TimeSpan.FromSeconds(60));
            await into.WaitUntilReadyAsync(TimeSpan.FromSeconds(60));

            ScenarioContext.Progress($"sync: downloading {count:N0} events");
            var start = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true };
            foreach (var arg in new[] { context.SiloDll, "sync", from.Uri.ToString(), "--relay", into.Uri.ToString(),
                         $"--Relay:Store:Path={Path.Combine(target.FullName, "relay.db")}", "--Logging:LogLevel:Default=Warning" })
                start.ArgumentList.Add(arg);
            var clock = Stopwatch.StartNew();
            using var sync = Process.Start(start)!;
            var errors = sync.StandardError.ReadToEndAsync();
            await sync.StandardOutput.ReadToEndAsync();
            await sync.WaitForExitAsync();
            var elapsed = clock.Elapsed;
            var summary = (await errors).Split('\n').LastOrDefault(l => l.StartsWith("sync: have", StringComparison.Ordinal)) ?? "(no summary)";
            if (sync.ExitCode != 0 || !summary.Contains($"stored {count:N0}", StringComparison.Ordinal))
                context.Report.Problem($"sync exited {sync.ExitCode}: {summary}");
            context.Report.Row($"sync: {Report.Count(count)} events downloaded into an empty relay (whole command): events/s",
                Report.Count(count / elapsed.TotalSeconds));
            context.Report.Note($"sync: {Report.Fixed(elapsed.TotalSeconds, "0.0")} s from start to exit, including the .NET start of the " +
                $"command and reading this relay's records; receiving relay CPU {Report.Fixed(into.CpuTime.TotalSeconds, "0.0")} s. {summary}");
        }
        finally
        {
            try { source.Delete(recursive: true); } catch (IOException) { }
            try { target.Delete(recursive: true); } catch (IOException) { }
        }
    }
}
