using System.Net.WebSockets;
using System.Threading.Channels;
using NostrRelay.EndToEnd.Tests.Infrastructure;

namespace NostrRelay.EndToEnd.Tests;

/// <summary>SIGTERM is a clean stop: EVENTs in flight get their OK, what was acknowledged is stored, sockets close with 1001.</summary>
[Collection(RelayCollection.Name)]
public sealed class ShutdownTests(RelayFixture fixture)
{
    [Fact]
    public async Task sigterm_answers_in_flight_events_and_closes_sockets_with_going_away()
    {
        using var deployment = new RelayDeployment();
        var events = new List<SignedEvent>();
        for (var i = 0; i < 400; i++) events.Add(await fixture.Tools.SignAsync(NostrTools.NewSecretKey(), 1, $"in flight {i}"));
        var acknowledged = new List<string>();

        using (var relay = await deployment.StartAsync())
        {
            await using var client = await TestClient.ConnectAsync(deployment.Url);
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
            catch (ChannelClosedException)
            {
                // the relay closed the socket after the last OK
            }
            await relay.WaitForExitAsync(TimeSpan.FromSeconds(30));
            Assert.Equal(WebSocketCloseStatus.EndpointUnavailable, client.CloseStatus);
        }

        Assert.NotEmpty(acknowledged);
        Assert.Equal(acknowledged.Count, (await deployment.StoredIdsAfterRestartAsync(acknowledged)).Count);
    }
}
