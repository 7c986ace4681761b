using Microsoft.Extensions.DependencyInjection;
using NostrRelay.Protocol;
using NostrRelay.Subscriptions;

namespace NostrRelay.Grains.Tests;

/// <summary>
/// A shard its gateway refused (it resumed the shard in another activation) retires for good: live events
/// still on their way must not bring back an empty activation that receives every event for nobody.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class ShardRetirementTests(ClusterFixture fixture)
{
    [Fact]
    public async Task a_refused_shard_leaves_the_fan_out_and_stays_gone_while_events_keep_coming()
    {
        var key = $"retire-{Guid.NewGuid():N}/0";
        var fanOut = fixture.Cluster.Silos[0].ServiceProvider.GetRequiredService<LiveFanOut>();
        var gateway = new RefusingObserver();
        var shard = fixture.Client.GetGrain<ISubscriptionGrain>(key);
        await shard.AttachAsync(fixture.Client.CreateObjectReference<IGatewayShardObserver>(gateway));
        await shard.SubscribeAsync(1, "sub", [new Filter { Kinds = [1], Limit = 0 }]);   // its EOSE is refused
        Assert.True(await EventuallyAsync(() => gateway.Refused > 0));

        var author = new Author();
        for (var i = 0; i < 20; i++)
            await fixture.Client.GetGrain<IAuthorStreamGrain>(author.Pubkey).AppendAsync(author.Note($"after {i}"));

        Assert.True(await EventuallyAsync(() => !fanOut.Serves(key)), "the retired shard is still in the fan-out");
        await Task.Delay(300);
        Assert.False(fanOut.Serves(key));
        Assert.Equal(1, gateway.Refused);   // nothing more was delivered to the gateway that refused
    }

    private static async Task<bool> EventuallyAsync(Func<bool> condition)
    {
        for (var i = 0; i < 50; i++)
        {
            if (condition()) return true;
            await Task.Delay(50);
        }
        return condition();
    }
}
