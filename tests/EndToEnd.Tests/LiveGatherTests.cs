using System.Diagnostics;
using NostrRelay.EndToEnd.Tests.Infrastructure;

namespace NostrRelay.EndToEnd.Tests;

/// <summary>
/// <c>Relay:LiveDelivery:GatherWindow</c>: a live event that comes after a quiet window goes at once; those that follow
/// it closer than the window wait for it and reach a subscriber together, whole and in order; a REQ's stored events,
/// its EOSE and the publisher's OKs never wait.
/// </summary>
[Collection(RelayCollection.Name)]
public sealed class LiveGatherTests(RelayFixture fixture)
{
    private static readonly TimeSpan Window = TimeSpan.FromSeconds(2);

    [Fact]
    public async Task a_live_event_after_a_quiet_window_goes_at_once_and_those_close_behind_it_wait_for_the_window()
    {
        await using var relay = await RelayServer.StartAsync("Relay:LiveDelivery:GatherWindow=00:00:02");
        await using var publisher = await TestClient.ConnectAsync(relay.Url);
        await using var subscriber = await TestClient.ConnectAsync(relay.Url);
        var key = NostrTools.NewSecretKey();
        var stored = await fixture.Tools.SignAsync(key, 1, "stored before the REQ");
        Assert.True((await publisher.PublishAsync(stored)).Accepted);

        // Stored events and EOSE: well inside the window.
        var asked = Stopwatch.StartNew();
        var history = await subscriber.QueryAsync("live", new { authors = new[] { stored.Pubkey } });
        Assert.Equal([stored.Id], history.Select(Frames.Id));
        Assert.True(asked.Elapsed < Window / 2, $"EOSE took {asked.Elapsed}");
        await Task.Delay(Window * 1.25);   // the shard hands nothing on for a whole window

        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var live = new List<SignedEvent>();
        for (var i = 0; i < 3; i++) live.Add(await fixture.Tools.SignAsync(key, 1, $"live {i}", createdAt: now + i));
        var published = Stopwatch.StartNew();
        Assert.True((await publisher.PublishAsync(live[0])).Accepted);
        var first = await subscriber.ExpectAsync(f => Frames.IsFor(f, "live"), TimeSpan.FromSeconds(10));
        foreach (var evt in live.Skip(1)) Assert.True((await publisher.PublishAsync(evt)).Accepted);   // OKs do not wait either
        Assert.True(published.Elapsed < Window / 2, $"the first delivery and the OKs took {published.Elapsed}");

        var received = new List<string> { Frames.Id(first[2]) };
        for (var i = 1; i < live.Count; i++)
            received.Add(Frames.Id((await subscriber.ExpectAsync(f => Frames.IsFor(f, "live"), TimeSpan.FromSeconds(10)))[2]));
        var waited = published.Elapsed;   // the window runs from the first one's hand-on, which came after this started

        Assert.Equal(live.Select(e => e.Id), received);
        Assert.True(waited >= Window * 0.9, $"the events behind the first arrived {waited} after it was published, inside the window");
    }

    [Fact]
    public async Task a_req_on_the_same_connection_ends_the_wait_and_takes_the_gathered_events_along()
    {
        await using var relay = await RelayServer.StartAsync("Relay:LiveDelivery:GatherWindow=00:00:05");
        await using var publisher = await TestClient.ConnectAsync(relay.Url);
        await using var subscriber = await TestClient.ConnectAsync(relay.Url);
        var key = NostrTools.NewSecretKey();
        var pubkey = await fixture.Tools.PublicKeyAsync(key);
        Assert.Empty(await subscriber.QueryAsync("live", new { authors = new[] { pubkey } }));
        var evt = await fixture.Tools.SignAsync(key, 1, "gathered");
        Assert.True((await publisher.PublishAsync(evt)).Accepted);   // inside the window the EOSE just handed on started

        var asked = Stopwatch.StartNew();
        await subscriber.SendAsync(Frames.Req("other", new { ids = new[] { new string('0', 64) } }));
        var first = await subscriber.ExpectAsync(f => Frames.IsFor(f, "live") || Frames.IsFor(f, "other"), TimeSpan.FromSeconds(10));
        var second = await subscriber.ExpectAsync(f => Frames.IsFor(f, "live") || Frames.IsFor(f, "other"), TimeSpan.FromSeconds(10));

        Assert.True(Frames.Is(first, "EVENT") && first[1].GetString() == "live" && Frames.Id(first[2]) == evt.Id, first.ToString());
        Assert.True(Frames.Is(second, "EOSE") && second[1].GetString() == "other", second.ToString());
        Assert.True(asked.Elapsed < TimeSpan.FromSeconds(2.5), $"the REQ's EOSE waited {asked.Elapsed}");
    }

    [Fact]
    public async Task a_window_past_the_longest_stops_the_relay_at_start_with_the_setting_named()
    {
        var refused = await Assert.ThrowsAnyAsync<Exception>(() => RelayServer.StartAsync("Relay:LiveDelivery:GatherWindow=00:01:00"));
        Assert.Contains("Relay:LiveDelivery:GatherWindow", refused.ToString());
    }
}
