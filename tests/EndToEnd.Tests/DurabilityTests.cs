using NostrRelay.EndToEnd.Tests.Infrastructure;

namespace NostrRelay.EndToEnd.Tests;

/// <summary>OK true means durable: the real relay process, killed with SIGKILL right after the last OK, still has every acknowledged event when it comes back.</summary>
[Collection(RelayCollection.Name)]
public sealed class DurabilityTests(RelayFixture fixture)
{
    [Fact]
    public async Task every_acknowledged_event_survives_a_sigkill_of_the_relay_process()
    {
        using var deployment = new RelayDeployment();
        var events = new List<SignedEvent>();
        for (var i = 0; i < 300; i++)
            events.Add(await fixture.Tools.SignAsync(NostrTools.NewSecretKey(), i % 10 == 0 ? 0 : 1, $"durable {i}"));
        var acknowledged = new List<string>();

        using (var relay = await deployment.StartAsync())
        {
            await using var client = await TestClient.ConnectAsync(deployment.Url);
            foreach (var evt in events) await client.SendAsync($"[\"EVENT\",{evt.Json}]");
            foreach (var evt in events)
            {
                var ok = await client.ExpectAsync(f => Frames.Is(f, "OK") && f[1].GetString() == evt.Id);
                if (ok[2].GetBoolean()) acknowledged.Add(evt.Id);
            }
            relay.Kill();   // SIGKILL: no shutdown hook, no flush
        }

        Assert.Equal(events.Count, acknowledged.Count);
        Assert.Equal(acknowledged.Count, (await deployment.StoredIdsAfterRestartAsync(acknowledged)).Count);
    }
}
