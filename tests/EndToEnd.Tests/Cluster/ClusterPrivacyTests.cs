using NostrRelay.EndToEnd.Tests.Infrastructure;

namespace NostrRelay.EndToEnd.Tests.Cluster;

/// <summary>
/// NIP-42 gating across a cluster of real processes: a direct message published through one silo's gateway reaches
/// its authenticated recipient live on another silo, and no other subscriber on any gateway (a gateway-only process
/// included), while a public note from the same author reaches everyone; COUNT on a third process leaves it out too.
/// </summary>
[Collection(ClusterProcessCollection.Name)]
public sealed class ClusterPrivacyTests : IAsyncLifetime
{
    private readonly NostrTools _tools = NostrTools.Start();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _tools.DisposeAsync();

    [Fact]
    public async Task a_direct_message_reaches_its_recipient_on_another_silo_and_no_one_else()
    {
        using var cluster = new ClusterDeployment();
        var a = await cluster.StartSiloAsync();
        var b = await cluster.StartSiloAsync();
        var gateway = await cluster.StartGatewayAsync();
        var alice = NostrTools.NewSecretKey();
        var bob = NostrTools.NewSecretKey();
        var alicePubkey = await _tools.PublicKeyAsync(alice);
        var bobPubkey = await _tools.PublicKeyAsync(bob);
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();

        await using var bobOnB = await TestClient.ConnectAsync(b.Url);
        var auth = await _tools.AuthAsync(bob, b.Url.ToString(), await bobOnB.ChallengeAsync());
        Assert.Equal((true, ""), await bobOnB.PublishRawAsync(auth.Id, $"[\"AUTH\",{auth.Json}]"));
        await using var strangerOnB = await TestClient.ConnectAsync(b.Url);
        await using var strangerOnGateway = await TestClient.ConnectAsync(gateway.Url);
        foreach (var (client, id) in new[] { (bobOnB, "bob"), (strangerOnB, "b"), (strangerOnGateway, "g") })
        {
            await client.SendAsync(Frames.Req(id, new { authors = new[] { alicePubkey }, since = now - 60 }));
            await client.ExpectAsync(f => Frames.Is(f, "EOSE") && Frames.IsFor(f, id));
        }

        await using var aliceOnA = await TestClient.ConnectAsync(a.Url);
        var dm = await _tools.SignAsync(alice, 4, "ciphertext?iv=x", [["p", bobPubkey]]);
        var note = await _tools.SignAsync(alice, 1, "hello everyone", [["p", bobPubkey]]);
        Assert.Equal((true, ""), await aliceOnA.PublishAsync(dm));
        Assert.Equal((true, ""), await aliceOnA.PublishAsync(note));

        // The note comes after the DM from the same author, so once a subscriber has the note, the DM would have come.
        var bobGot = new List<string>();
        for (var i = 0; i < 2; i++) bobGot.Add(Frames.Id((await bobOnB.ExpectAsync(f => Frames.Is(f, "EVENT") && Frames.IsFor(f, "bob"), TimeSpan.FromSeconds(15)))[2]));
        Assert.Equal([dm.Id, note.Id], bobGot);
        foreach (var (client, id) in new[] { (strangerOnB, "b"), (strangerOnGateway, "g") })
        {
            var first = await client.ExpectAsync(f => Frames.Is(f, "EVENT") && Frames.IsFor(f, id), TimeSpan.FromSeconds(15));
            Assert.Equal(note.Id, Frames.Id(first[2]));
            Assert.True(await client.NoneArrivesAsync(f => Frames.Is(f, "EVENT"), TimeSpan.FromMilliseconds(500)));
        }

        await strangerOnGateway.SendAsync($$"""["COUNT","c",{"#p":["{{bobPubkey}}"]}]""");
        var counted = await strangerOnGateway.ExpectAsync(f => Frames.Is(f, "COUNT"));
        Assert.Equal(1, counted[2].GetProperty("count").GetInt64());
    }
}
