using System.Text;
using System.Text.Json;
using NostrRelay.Benchmarks.Reporting;
using NostrRelay.Crypto;
using NostrRelay.Framing;
using NostrRelay.Hosting;
using NostrRelay.Protocol;
using NostrRelay.Subscriptions;
using NostrRelay.Testing;

namespace NostrRelay.Benchmarks.Scenarios;

/// <summary>
/// The per-event steps of the relay's hot path, each alone in this process on one thread: that thread's CPU time
/// (<see cref="ThreadCpu"/>: the kernel's work in a send counts, time the thread waited for a core does not) and bytes
/// allocated per event (<see cref="GC.GetAllocatedBytesForCurrentThread"/>). parse: an EVENT frame read as the gateway reads
/// it; verify: id and BIP-340 signature; match: an event against a shard's index of 1,000 subscriptions (authors,
/// kinds, #p, and a few matching everything); serialise: the ["EVENT",sub,event] frame of one delivery; read back: a
/// stored event's bytes parsed as a store's reader parses them; deliver: one delivery frame queued and sent to a real
/// loopback WebSocket, of 200 taken in turn, as the gateway sends a live event (<see cref="LoopbackConnections"/>).
/// 2,000 events of 100 authors with a p tag each.
/// </summary>
internal static class HotPathScenario
{
    private const string Name = "hot-path";

    public static Task RunAsync(ScenarioContext context)
    {
        var signer = NativeSchnorrSigner.Shared;
        var keys = Enumerable.Range(0, 100).Select(k => System.Security.Cryptography.SHA256.HashData(BitConverter.GetBytes(k + 21))).ToArray();
        var pubkeys = keys.Select(signer.PublicKeyHex).ToArray();
        var events = Enumerable.Range(0, 2_000)
            .Select(i => signer.Sign(keys[i % keys.Length], 1_700_000_000 + i, i % 10 == 0 ? 7 : 1, [["p", pubkeys[(i * 7) % pubkeys.Length]]], $"hot path note {i} with a few words in it"))
            .ToArray();
        var frames = events.Select(e => Encoding.UTF8.GetBytes($"[\"EVENT\",{Encoding.UTF8.GetString(e.Json)}]")).ToArray();
        var limits = new RelayLimits();
        var verifier = new EventVerifier(SchnorrVerifier.Default);
        var index = Index(pubkeys);
        var matches = new List<LiveSubscription>();
        var rounds = context.Options.Quick ? 2 : 5;
        using var connections = new LoopbackConnections(200);

        var steps = new (string Name, Action<int> Run)[]
        {
            ("parse an EVENT frame", i =>
            {
                var reader = new Utf8JsonReader(frames[i], FrameReader.Options);
                FrameReader.ReadKind(ref reader);
                if (!FrameReader.TryReadEvent(ref reader, limits, out _, out var error)) throw new InvalidOperationException(error);
            }),
            ("verify id and signature", i =>
            {
                if (verifier.Check(events[i]) is { } problem) throw new InvalidOperationException(problem);
            }),
            ("match against 1,000 live subscriptions", i =>
            {
                matches.Clear();
                index.Match(events[i], matches);
            }),
            ("serialise one delivery frame", i => RelayFrames.Event("sub-0042", events[i].Json).Release()),
            ("read a stored event back", i => EventReader.ParseStored(events[i].Json)),
            ("deliver one event to a socket (200 loopback WebSockets in turn)", i => connections.Deliver(i % 200, "sub-0042", events[i].Json)),
        };

        foreach (var (name, run) in steps)
        {
            var nanos = new List<double>();
            var bytes = new List<double>();
            for (var round = 0; round < rounds; round++)
            {
                for (var i = 0; i < events.Length; i++) run(i);   // warm-up: the JIT tiers up, pools fill
                var allocated = GC.GetAllocatedBytesForCurrentThread();
                var started = ThreadCpu.Nanoseconds();
                for (var repeat = 0; repeat < 5; repeat++)
                    for (var i = 0; i < events.Length; i++) run(i);
                var spent = ThreadCpu.Nanoseconds() - started;
                var count = 5.0 * events.Length;
                bytes.Add((GC.GetAllocatedBytesForCurrentThread() - allocated) / count);
                nanos.Add(spent / count);
            }
            nanos.Sort();
            bytes.Sort();
            context.Report.Row($"{Name}: {name}: CPU time / bytes allocated per event (median of {rounds})",
                $"{Report.Fixed(nanos[rounds / 2] / 1000, "0.00")} µs / {Report.Count(bytes[rounds / 2])} B");
        }
        return Task.CompletedTask;
    }

    /// <summary>1,000 subscriptions as a shard holds them: by author (600), by kind and #p (300), by kind (95), everything (5).</summary>
    private static FilterIndex Index(string[] pubkeys)
    {
        var index = new FilterIndex();
        var connection = new ShardConnection(1);
        for (var i = 0; i < 1_000; i++)
        {
            Filter filter = i switch
            {
                < 600 => new Filter { Authors = [pubkeys[i % pubkeys.Length], pubkeys[(i + 1) % pubkeys.Length]] },
                < 900 => new Filter { Kinds = [1], Tags = [new TagFilter('p', [pubkeys[i % pubkeys.Length]])] },
                < 995 => new Filter { Kinds = [7] },
                _ => new Filter(),
            };
            index.Add(new LiveSubscription(connection, $"sub-{i}", [filter]));
        }
        return index;
    }
}
