using NostrRelay.EndToEnd.Tests.Infrastructure;

namespace NostrRelay.EndToEnd.Tests;

/// <summary>
/// NIP-13: "The difficulty is defined to be the number of leading zero bits in the NIP-01 id"; a miner adds
/// <c>["nonce", "776797", "20"]</c>, whose third entry "SHOULD contain the target difficulty. This allows clients to
/// protect against a situation where bulk spammers targeting a lower difficulty get lucky and match a higher
/// difficulty". NIP-11: <c>min_pow_difficulty</c>, "new events will require at least this difficulty of PoW".
/// Events are mined and signed by nostr-tools (<c>minePow</c>).
/// </summary>
[Collection(RelayCollection.Name)]
public sealed class Nip13ProofOfWorkTests(RelayFixture fixture)
{
    private const int Minimum = 12;

    private static Task<RelayServer> StartRelayAsync() => RelayServer.StartAsync($"Relay:Limits:MinPowDifficulty={Minimum}");

    [Fact]
    public async Task an_event_mined_to_the_minimum_difficulty_is_accepted_and_served()
    {
        await using var relay = await StartRelayAsync();
        await using var client = await TestClient.ConnectAsync(relay.Url);
        var evt = await fixture.Tools.MineAsync(NostrTools.NewSecretKey(), 1, Minimum, content: "worked for it");

        var (accepted, message) = await client.PublishAsync(evt);

        Assert.True(accepted, message);
        Assert.True(LeadingZeroBits(evt.Id) >= Minimum);
        Assert.Equal(evt.Id, Frames.Id(Assert.Single(await client.QueryAsync("q", new { ids = new[] { evt.Id } }))));
    }

    [Fact]
    public async Task an_event_with_too_little_work_is_refused_with_pow_and_not_stored()
    {
        await using var relay = await StartRelayAsync();
        await using var client = await TestClient.ConnectAsync(relay.Url);
        var sk = NostrTools.NewSecretKey();
        SignedEvent evt;
        do evt = await fixture.Tools.MineAsync(sk, 1, 4);   // a lucky id could reach the minimum: mine again
        while (LeadingZeroBits(evt.Id) >= Minimum);
        SignedEvent unmined;
        do unmined = await fixture.Tools.SignAsync(sk, 1, "no nonce at all");
        while (LeadingZeroBits(unmined.Id) >= Minimum);

        var (accepted, message) = await client.PublishAsync(evt);
        var (unminedAccepted, unminedMessage) = await client.PublishAsync(unmined);

        Assert.False(accepted);
        Assert.Equal($"pow: difficulty {LeadingZeroBits(evt.Id)} is below {Minimum}", message);
        Assert.False(unminedAccepted);
        Assert.Equal($"pow: difficulty {LeadingZeroBits(unmined.Id)} is below {Minimum}", unminedMessage);
        Assert.Empty(await client.QueryAsync("q", new { ids = new[] { evt.Id } }));
    }

    [Fact]
    public async Task a_committed_target_below_the_minimum_is_refused_even_when_the_id_has_enough_bits()
    {
        await using var relay = await StartRelayAsync();
        await using var client = await TestClient.ConnectAsync(relay.Url);
        var lucky = await fixture.Tools.MineAsync(NostrTools.NewSecretKey(), 1, Minimum, commit: 8);

        var (accepted, message) = await client.PublishAsync(lucky);

        Assert.True(LeadingZeroBits(lucky.Id) >= Minimum, lucky.Id);
        Assert.Equal("8", lucky.Element.GetProperty("tags")[0][2].GetString());
        Assert.False(accepted);
        Assert.Equal($"pow: committed target 8 is below {Minimum}", message);
        Assert.Empty(await client.QueryAsync("q", new { ids = new[] { lucky.Id } }));
    }

    [Fact]
    public async Task a_committed_target_above_the_minimum_is_accepted()
    {
        await using var relay = await StartRelayAsync();
        await using var client = await TestClient.ConnectAsync(relay.Url);
        var evt = await fixture.Tools.MineAsync(NostrTools.NewSecretKey(), 1, Minimum + 1, commit: Minimum + 1);

        var (accepted, message) = await client.PublishAsync(evt);

        Assert.True(accepted, message);
    }

    [Fact]
    public async Task the_minimum_difficulty_is_advertised_and_is_zero_when_none_is_set()
    {
        await using var relay = await StartRelayAsync();

        var configured = await InformationDocument.LimitationAsync(relay.HttpUrl);
        var unset = await InformationDocument.LimitationAsync(fixture.Relay.HttpUrl);

        Assert.Equal(Minimum, configured.GetProperty("min_pow_difficulty").GetInt32());
        Assert.Equal(0, unset.GetProperty("min_pow_difficulty").GetInt32());
    }

    [Fact]
    public async Task without_a_minimum_an_event_without_work_is_accepted()
    {
        await using var client = await fixture.ConnectAsync();
        SignedEvent evt;
        do evt = await fixture.Tools.SignAsync(NostrTools.NewSecretKey(), 1, "no work");
        while (LeadingZeroBits(evt.Id) > 0);

        var (accepted, message) = await client.PublishAsync(evt);

        Assert.True(accepted, message);
    }

    /// <summary>NIP-13's difficulty, counted here independently of the relay: leading zero bits of the hex id.</summary>
    private static int LeadingZeroBits(string hexId)
    {
        var bits = 0;
        foreach (var c in hexId)
        {
            var nibble = Convert.ToInt32(c.ToString(), 16);
            if (nibble != 0) return bits + (3 - (int)Math.Floor(Math.Log2(nibble)));
            bits += 4;
        }
        return bits;
    }
}
