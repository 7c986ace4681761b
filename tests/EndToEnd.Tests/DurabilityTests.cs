using System.Diagnostics;
using NostrRelay.EndToEnd.Tests.Infrastructure;

namespace NostrRelay.EndToEnd.Tests;

/// <summary>OK true means durable: the real relay process, killed with SIGKILL right after the last OK, still has every acknowledged event when it comes back.</summary>
[Collection(RelayCollection.Name)]
public sealed class DurabilityTests(RelayFixture fixture)
{
    [Fact]
    public async Task every_acknowledged_event_survives_a_sigkill_of_the_relay_process()
    {
        var data = Path.Combine(Path.GetTempPath(), "relay-kill-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(data);
        var port = FreePort.Next();
        string[] args =
        [
            "--Relay:Host=127.0.0.1", $"--Relay:Port={port}", $"--Relay:Store:Path={Path.Combine(data, "relay.db")}",
            $"--Orleans:Endpoints:SiloPort={FreePort.Next()}", $"--Orleans:Endpoints:GatewayPort={FreePort.Next()}",
        ];
        var url = new Uri($"ws://127.0.0.1:{port}/");
        var events = new List<SignedEvent>();
        for (var i = 0; i < 300; i++)
            events.Add(await fixture.Tools.SignAsync(NostrTools.NewSecretKey(), i % 10 == 0 ? 0 : 1, $"durable {i}"));
        try
        {
            var acknowledged = new List<string>();
            using (var relay = await SiloProcess.StartAsync(args))
            {
                await using var client = await TestClient.ConnectAsync(url);
                foreach (var evt in events) await client.SendAsync($"[\"EVENT\",{evt.Json}]");
                foreach (var evt in events)
                {
                    var ok = await client.ExpectAsync(f => Frames.Is(f, "OK") && f[1].GetString() == evt.Id);
                    if (ok[2].GetBoolean()) acknowledged.Add(evt.Id);
                }
                relay.Kill();   // SIGKILL: no shutdown hook, no flush
            }
            Assert.Equal(events.Count, acknowledged.Count);

            using (await SiloProcess.StartAsync(args))
            {
                await using var client = await TestClient.ConnectAsync(url);
                var found = new HashSet<string>();
                foreach (var chunk in acknowledged.Chunk(100))
                    foreach (var evt in await client.QueryAsync("back", new { ids = chunk }))
                        found.Add(Frames.Id(evt));
                Assert.Equal(acknowledged.Count, found.Count);
            }
        }
        finally
        {
            try { Directory.Delete(data, recursive: true); } catch (IOException) { }
        }
    }
}
