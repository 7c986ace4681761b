using NostrRelay.EndToEnd.Tests.Infrastructure;

namespace NostrRelay.EndToEnd.Tests;

/// <summary>
/// NIP-11 <c>limitation</c>: "<c>created_at_lower_limit</c>: 'created_at' lower limit" and "<c>created_at_upper_limit</c>:
/// 'created_at' upper limit", because "Some relays may ... reject events that have a created_at that is too far in the
/// future or too far in the past". NIP-01 OK: "invalid:" for an event the relay will not take as it is. This relay
/// takes created_at up to 900 seconds ahead by default and any age.
/// </summary>
[Collection(RelayCollection.Name)]
public sealed class TimeLimitTests(RelayFixture fixture)
{
    private static long Now => DateTimeOffset.UtcNow.ToUnixTimeSeconds();

    [Fact]
    public async Task an_event_dated_at_the_largest_created_at_is_refused_by_the_default_upper_limit()
    {
        await using var client = await fixture.ConnectAsync();
        var evt = await fixture.Tools.SignAsync(NostrTools.NewSecretKey(), 1, "from the end of time", createdAt: long.MaxValue);

        var (accepted, message) = await client.PublishAsync(evt);

        Assert.Equal(9223372036854775807, evt.CreatedAt);
        Assert.False(accepted);
        Assert.Equal("invalid: created_at is more than 900 seconds in the future", message);
        Assert.Empty(await client.QueryAsync("q", new { ids = new[] { evt.Id } }));
    }

    [Fact]
    public async Task by_default_an_hour_ahead_is_refused_a_minute_ahead_is_accepted_and_any_age_is_accepted()
    {
        await using var client = await fixture.ConnectAsync();
        var sk = NostrTools.NewSecretKey();
        var hourAhead = await fixture.Tools.SignAsync(sk, 1, "an hour ahead", createdAt: Now + 3600);
        var minuteAhead = await fixture.Tools.SignAsync(sk, 1, "a minute ahead", createdAt: Now + 60);
        var ancient = await fixture.Tools.SignAsync(sk, 1, "1970", createdAt: 1);

        var refused = await client.PublishAsync(hourAhead);
        var slightlyAhead = await client.PublishAsync(minuteAhead);
        var old = await client.PublishAsync(ancient);

        Assert.False(refused.Accepted);
        Assert.Equal("invalid: created_at is more than 900 seconds in the future", refused.Message);
        Assert.True(slightlyAhead.Accepted, slightlyAhead.Message);
        Assert.True(old.Accepted, old.Message);
    }

    [Fact]
    public async Task configured_limits_refuse_what_is_outside_them_and_accept_what_is_inside()
    {
        await using var relay = await RelayServer.StartAsync("Relay:Limits:CreatedAtLowerLimit=3600", "Relay:Limits:CreatedAtUpperLimit=60");
        await using var client = await TestClient.ConnectAsync(relay.Url);
        var sk = NostrTools.NewSecretKey();

        var tooOld = await client.PublishAsync(await fixture.Tools.SignAsync(sk, 1, "two hours ago", createdAt: Now - 7200));
        var recent = await client.PublishAsync(await fixture.Tools.SignAsync(sk, 1, "a minute ago", createdAt: Now - 60));
        var tooNew = await client.PublishAsync(await fixture.Tools.SignAsync(sk, 1, "two minutes ahead", createdAt: Now + 120));
        var soon = await client.PublishAsync(await fixture.Tools.SignAsync(sk, 1, "half a minute ahead", createdAt: Now + 30));

        Assert.False(tooOld.Accepted);
        Assert.Equal("invalid: created_at is more than 3600 seconds in the past", tooOld.Message);
        Assert.True(recent.Accepted, recent.Message);
        Assert.False(tooNew.Accepted);
        Assert.Equal("invalid: created_at is more than 60 seconds in the future", tooNew.Message);
        Assert.True(soon.Accepted, soon.Message);
    }

    [Fact]
    public async Task the_limits_are_advertised_only_when_set()
    {
        await using var relay = await RelayServer.StartAsync("Relay:Limits:CreatedAtLowerLimit=3600", "Relay:Limits:CreatedAtUpperLimit=60");

        var configured = await InformationDocument.LimitationAsync(relay.HttpUrl);
        var byDefault = await InformationDocument.LimitationAsync(fixture.Relay.HttpUrl);

        Assert.Equal(3600, configured.GetProperty("created_at_lower_limit").GetInt64());
        Assert.Equal(60, configured.GetProperty("created_at_upper_limit").GetInt64());
        Assert.False(byDefault.TryGetProperty("created_at_lower_limit", out _));
        Assert.Equal(900, byDefault.GetProperty("created_at_upper_limit").GetInt64());
    }

    [Fact]
    public async Task with_the_upper_limit_cleared_a_far_future_event_is_accepted_and_no_upper_limit_is_advertised()
    {
        await using var relay = await RelayServer.StartAsync("Relay:Limits:CreatedAtUpperLimit=");
        await using var client = await TestClient.ConnectAsync(relay.Url);
        var evt = await fixture.Tools.SignAsync(NostrTools.NewSecretKey(), 1, "next year", createdAt: Now + 365 * 86400);

        var (accepted, message) = await client.PublishAsync(evt);

        Assert.True(accepted, message);
        Assert.False((await InformationDocument.LimitationAsync(relay.HttpUrl)).TryGetProperty("created_at_upper_limit", out _));
    }
}
