using System.Diagnostics;
using NostrRelay.EndToEnd.Tests.Infrastructure;
using Xunit.Abstractions;
using static NostrRelay.EndToEnd.Tests.Infrastructure.Management;

namespace NostrRelay.EndToEnd.Tests.Cluster;

/// <summary>
/// NIP-86 in a cluster of real processes: a pubkey banned through one silo's gateway is refused by the gateway of
/// another silo, because the moderation grain pushes each change to every gateway; how long that takes is printed.
/// </summary>
[Collection(ClusterProcessCollection.Name)]
public sealed class ClusterModerationTests(ITestOutputHelper output) : IAsyncLifetime
{
    private readonly NostrTools _tools = NostrTools.Start();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _tools.DisposeAsync();

    [Fact]
    public async Task a_ban_made_on_one_gateway_refuses_the_pubkey_on_another_silos_gateway()
    {
        var admin = NostrTools.NewSecretKey();
        using var cluster = new ClusterDeployment();
        cluster.Settings.Add($"--Relay:Management:Admins:0={await _tools.PublicKeyAsync(admin)}");
        cluster.Settings.Add("--Relay:PublicUrls:0=wss://relay.example/");   // every gateway behind one address
        var a = await cluster.StartSiloAsync();
        var b = await cluster.StartSiloAsync();
        var c = await cluster.StartSiloAsync();
        var spammer = NostrTools.NewSecretKey();
        var pubkey = await _tools.PublicKeyAsync(spammer);
        var events = new List<SignedEvent>();
        for (var i = 0; i < 400; i++) events.Add(await _tools.SignAsync(spammer, 1, $"spam {i}"));
        await using var onC = await TestClient.ConnectAsync(c.Url);
        Assert.Equal((true, ""), await onC.PublishAsync(events[0]));

        var banning = Stopwatch.StartNew();
        var ban = await CallAsync(a.HttpUrl, admin, Routed("banpubkey", a.HttpUrl, "https://relay.example/", false, pubkey, "spam"));
        var answered = banning.Elapsed;
        // Publish on C until refused: the time from the ban's answer to the first refusal is how fast it spread.
        (bool Accepted, string Message) result = (true, "");
        var next = 1;
        while (result.Accepted && next < events.Count) result = await onC.PublishAsync(events[next++]);
        var refusedAfter = banning.Elapsed - answered;
        await using var onB = await TestClient.ConnectAsync(b.Url);
        var onBResult = await onB.PublishAsync(events[^1]);
        // A header used on one gateway, replayed on another behind the same public URL: refused there too.
        var replayed = await CallAsync(a.HttpUrl, admin, Routed("listbannedpubkeys", a.HttpUrl, "https://relay.example/"),
            Routed("listbannedpubkeys", b.HttpUrl, "https://relay.example/", replay: true));

        output.WriteLine($"ban answered in {answered.TotalMilliseconds:0} ms; gateway C refused {refusedAfter.TotalMilliseconds:0} ms after that ({next - 2} more accepted first)");
        Assert.Equal(200, ban[0].Status);
        Assert.Equal((false, "blocked: this pubkey may not publish here"), result);
        Assert.Equal((false, "blocked: this pubkey may not publish here"), onBResult);
        Assert.Equal([200, 401], replayed.Select(r => r.Status));
        Assert.Equal("unauthorized: this authorization was already used", replayed[1].Error);
    }
}
