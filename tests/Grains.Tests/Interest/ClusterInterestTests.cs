using Microsoft.Extensions.DependencyInjection;
using NostrRelay.Protocol;
using NostrRelay.Subscriptions;

namespace NostrRelay.Grains.Tests.Interest;

/// <summary>Routing by interest in a real three-silo cluster: what a REQ asks for reaches the other silos before its EOSE, and goes when it closes.</summary>
[Collection(ThreeSiloCollection.Name)]
public sealed class ClusterInterestTests(ThreeSiloClusterFixture fixture)
{
    [Fact]
    public async Task by_its_EOSE_every_other_silo_sends_the_REQs_silo_what_it_asked_for_and_not_the_rest_and_after_CLOSE_not_that_either()
    {
        var alice = new Author();
        var bob = new Author();
        var kind = 44_000 + Random.Shared.Next(1000);   // no other test's REQ asks for it
        var observer = new RecordingObserver();
        var shard = fixture.GrainsOn(0).GetGrain<ISubscriptionGrain>($"interest-{Guid.NewGuid():N}/0");
        await shard.AttachAsync(fixture.Client.CreateObjectReference<IGatewayShardObserver>(observer));
        var silo0 = fixture.Cluster.Silos[0].SiloAddress;
        Assert.Equal(silo0.ToString(), await fixture.WhereIsAsync(shard));
        var peers = new[] { 1, 2 }.Select(s => fixture.Cluster.Silos[s].ServiceProvider.GetRequiredService<LiveFanOut>().Interest.Of(silo0)).ToArray();
        var fromAlice = alice.Note("for the REQ", kind: kind);
        var fromBob = bob.Note("for nobody", kind: kind);
        // Once silo 0's whole summary has reached them (a silo with none is sent everything), nobody there wants Alice.
        await EventuallyAsync(() => peers.All(peer => !peer.Wants(fromAlice)));

        await shard.SubscribeAsync(3, "alice", [new Filter { Authors = [alice.Pubkey], Limit = 10 }]);
        Assert.Equal(DeliveryKind.EndOfStoredEvents, (await observer.NextAsync()).Kind);
        Assert.All(peers, peer => Assert.True(peer.Wants(fromAlice)));
        Assert.All(peers, peer => Assert.False(peer.Wants(fromBob)));

        // Committed through the other silos right after EOSE: it arrives live.
        Assert.Equal(AppendStatus.Accepted, (await fixture.GrainsOn(1).GetGrain<IAuthorStreamGrain>(alice.Pubkey).AppendAsync(fromAlice)).Status);
        Assert.Equal(fromAlice.Id, (await observer.NextAsync()).Event!.Id);

        await shard.UnsubscribeAsync(3, "alice");
        await EventuallyAsync(() => peers.All(peer => !peer.Wants(fromAlice)));
    }

    private static async Task EventuallyAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!condition() && DateTime.UtcNow < deadline) await Task.Delay(20);
        Assert.True(condition());
    }
}
