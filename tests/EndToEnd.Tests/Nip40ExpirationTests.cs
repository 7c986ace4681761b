using Microsoft.Extensions.DependencyInjection;
using NostrRelay.Protocol;
using NostrRelay.Storage;
using NostrRelay.EndToEnd.Tests.Infrastructure;

namespace NostrRelay.EndToEnd.Tests;

/// <summary>
/// NIP-40: the <c>expiration</c> tag is "a unix timestamp (seconds) at which the message SHOULD be considered
/// expired"; "Relays SHOULD NOT send expired events to clients, even if they are stored", and "Relays SHOULD drop
/// any events that are published to them if they are expired".
/// </summary>
[Collection(RelayCollection.Name)]
public sealed class Nip40ExpirationTests(RelayFixture fixture)
{
    private static long Now => DateTimeOffset.UtcNow.ToUnixTimeSeconds();

    private static string[][] ExpiresAt(long at) => [["expiration", at.ToString(System.Globalization.CultureInfo.InvariantCulture)]];

    [Fact]
    public async Task an_event_that_has_already_expired_is_refused_as_invalid_and_not_stored()
    {
        await using var client = await fixture.ConnectAsync();
        var evt = await fixture.Tools.SignAsync(NostrTools.NewSecretKey(), 1, "too late", ExpiresAt(Now - 10));

        var (accepted, message) = await client.PublishAsync(evt);

        Assert.False(accepted);
        Assert.Equal("invalid: event has expired (NIP-40)", message);
        Assert.Empty(await client.QueryAsync("q", new { ids = new[] { evt.Id } }));
    }

    [Fact]
    public async Task an_event_with_a_future_expiration_is_accepted_and_served_with_its_tag()
    {
        await using var client = await fixture.ConnectAsync();
        var evt = await fixture.Tools.SignAsync(NostrTools.NewSecretKey(), 1, "for an hour", ExpiresAt(Now + 3600));

        var (accepted, message) = await client.PublishAsync(evt);

        Assert.True(accepted, message);
        var served = await client.QueryAsync("q", new { authors = new[] { evt.Pubkey } });
        Assert.Equal(evt.Json, Assert.Single(served).GetRawText());
    }

    [Fact]
    public async Task an_event_is_served_until_it_expires_and_a_new_req_does_not_serve_it_after()
    {
        await using var client = await fixture.ConnectAsync();
        var expiration = Now + 2;
        var evt = await fixture.Tools.SignAsync(NostrTools.NewSecretKey(), 1, "briefly", ExpiresAt(expiration));

        Assert.True((await client.PublishAsync(evt)).Accepted);
        Assert.Single(await client.QueryAsync("before", new { ids = new[] { evt.Id } }));

        var (served, answeredAt) = await PollUntilGoneAsync(client, new { ids = new[] { evt.Id } }, evt.Id);
        Assert.False(served, "still served after its expiration");
        Assert.True(answeredAt >= expiration, $"gone at {answeredAt}, before its expiration {expiration}");
        Assert.Empty(await client.QueryAsync("by-author", new { authors = new[] { evt.Pubkey } }));
    }

    [Fact]
    public async Task once_the_newest_event_has_expired_a_limit_1_req_serves_the_one_before_it()
    {
        await using var client = await fixture.ConnectAsync();
        var sk = NostrTools.NewSecretKey();
        var older = await fixture.Tools.SignAsync(sk, 1, "stays", createdAt: Now - 60);
        var newer = await fixture.Tools.SignAsync(sk, 1, "briefly", ExpiresAt(Now + 2));
        Assert.True((await client.PublishAsync(older)).Accepted);
        Assert.True((await client.PublishAsync(newer)).Accepted);
        var filter = new { authors = new[] { older.Pubkey }, limit = 1 };

        Assert.Equal(newer.Id, Frames.Id(Assert.Single(await client.QueryAsync("before", filter))));
        Assert.False((await PollUntilGoneAsync(client, filter, newer.Id)).Served, "still served after its expiration");

        // NIP-01: limit is "the maximum number of events relays SHOULD return"; the expired event is not one of them.
        Assert.Equal(older.Id, Frames.Id(Assert.Single(await client.QueryAsync("after", filter))));
    }

    /// <summary>
    /// Sends a new REQ every 100 ms until it no longer serves <paramref name="id"/> or five seconds pass; whether it was
    /// still served, and the unix time once the last REQ was answered (the relay read its clock before that).
    /// </summary>
    private static async Task<(bool Served, long AnsweredAt)> PollUntilGoneAsync(TestClient client, object filter, string id)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(5);
        for (var attempt = 0; ; attempt++)
        {
            var events = await client.QueryAsync("poll" + attempt, filter);
            var answeredAt = Now;
            await client.SendAsync(Frames.Close("poll" + attempt));
            var served = events.Exists(e => Frames.Id(e) == id);
            if (!served || DateTime.UtcNow > deadline) return (served, answeredAt);
            await Task.Delay(100);   // polling a clock-driven condition, not synchronising with the relay
        }
    }

    [Fact]
    public async Task an_expired_event_is_deleted_from_the_store_by_the_background_purge()
    {
        await using var relay = await RelayServer.StartAsync("Relay:ExpiryPurge:Interval=00:00:00.2");
        var store = relay.Services.GetRequiredService<IEventStore>();
        await using var client = await TestClient.ConnectAsync(relay.Url);
        var key = NostrTools.NewSecretKey();
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var expiring = await fixture.Tools.SignAsync(key, 1, "gone soon", [["expiration", (now + 1).ToString()]]);
        var kept = await fixture.Tools.SignAsync(key, 1, "stays", [["expiration", (now + 3600).ToString()]]);
        Assert.True((await client.PublishAsync(expiring)).Accepted);
        Assert.True((await client.PublishAsync(kept)).Accepted);

        var deadline = DateTime.UtcNow.AddSeconds(15);
        List<string> stored;
        do stored = await store.QueryAsync(new Filter { Ids = [expiring.Id, kept.Id] }).Select(e => e.Id).ToListAsync();
        while (stored.Contains(expiring.Id) && DateTime.UtcNow < deadline && await Pause());

        Assert.Equal([kept.Id], stored);
    }

    private static async Task<bool> Pause()
    {
        await Task.Delay(100);
        return true;
    }
}

