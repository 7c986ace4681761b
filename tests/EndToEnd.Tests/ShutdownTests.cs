using System.Net.WebSockets;
using NostrRelay.EndToEnd.Tests.Infrastructure;

namespace NostrRelay.EndToEnd.Tests;

/// <summary>SIGTERM is a clean stop: EVENTs in flight get their OK, what was acknowledged is stored, sockets close with 1001.</summary>
[Collection(RelayCollection.Name)]
public sealed class ShutdownTests(RelayFixture fixture)
{
    [Fact]
    public async Task sigterm_answers_in_flight_events_and_closes_sockets_with_going_away()
    {
        var data = Path.Combine(Path.GetTempPath(), "relay-term-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(data);
        var port = FreePort.Next();
        string[] args =
        [
            "--Relay:Host=127.0.0.1", $"--Relay:Port={port}", $"--Relay:Store:Path={Path.Combine(data, "relay.db")}",
            $"--Orleans:Endpoints:SiloPort={FreePort.Next()}", $"--Orleans:Endpoints:GatewayPort={FreePort.Next()}",
        ];
        var url = new Uri($"ws://127.0.0.1:{port}/");
        var events = new List<SignedEvent>();
        for (var i = 0; i < 400; i++) events.Add(await fixture.Tools.SignAsync(NostrTools.NewSecretKey(), 1, $"in flight {i}"));
        try
        {
            var acknowledged = new List<string>();
            using (var relay = await SiloProcess.StartAsync(args))
            {
                await using var client = await TestClient.ConnectAsync(url);
                foreach (var evt in events) await client.SendAsync($"[\"EVENT\",{evt.Json}]");
                var first = await client.ExpectAsync(f => Frames.Is(f, "OK"));
                if (first[2].GetBoolean()) acknowledged.Add(first[1].GetString()!);

                relay.Terminate();
                try
                {
                    while (true)
                    {
                        var frame = await client.NextAsync(TimeSpan.FromSeconds(30));
                        if (Frames.Is(frame, "OK") && frame[2].GetBoolean()) acknowledged.Add(frame[1].GetString()!);
                    }
                }
                catch (System.Threading.Channels.ChannelClosedException)
                {
                    // the relay closed the socket after the last OK
                }
                await relay.WaitForExitAsync(TimeSpan.FromSeconds(30));
                Assert.Equal(WebSocketCloseStatus.EndpointUnavailable, client.CloseStatus);
            }
            Assert.NotEmpty(acknowledged);

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
