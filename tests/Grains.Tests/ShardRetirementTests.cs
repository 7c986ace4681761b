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

    private static async Task<bool> EventuallyAsync(Func<bool> condition, int tries = 50)
    {
        for (var i = 0; i < tries; i++)
        {
            if (condition()) return true;
            await Task.Delay(50);
        }
        return condition();
    }

    [Fact]
    public async Task deliveries_that_fail_briefly_are_sent_again_in_order()
    {
        var gateway = new FlakyObserver(failures: 2);
        var shard = fixture.Client.GetGrain<ISubscriptionGrain>($"flaky-{Guid.NewGuid():N}/0");
        await shard.AttachAsync(fixture.Client.CreateObjectReference<IGatewayShardObserver>(gateway));
        var author = new Author();
        await shard.SubscribeAsync(1, "sub", [new Filter { Authors = [author.Pubkey], Limit = 0 }]);

        var events = Enumerable.Range(0, 5).Select(i => author.Note($"n{i}")).ToArray();
        foreach (var evt in events) await fixture.Client.GetGrain<IAuthorStreamGrain>(author.Pubkey).AppendAsync(evt);

        Assert.Equal(DeliveryKind.EndOfStoredEvents, (await gateway.Inner.NextAsync()).Kind);
        var received = new List<string>();
        for (var i = 0; i < events.Length; i++) received.Add((await gateway.Inner.NextAsync()).Event!.Id);
        Assert.Equal(events.Select(e => e.Id), received);
        Assert.True(await gateway.Inner.NothingWithinAsync(TimeSpan.FromMilliseconds(300)));
    }

    [Fact]
    public async Task a_batch_whose_answer_was_lost_is_sent_again_under_its_number_and_the_next_gets_the_next()
    {
        var gateway = new AnswerLosingObserver(losses: 2);
        var shard = fixture.Client.GetGrain<ISubscriptionGrain>($"lossy-{Guid.NewGuid():N}/0");
        var activation = await shard.AttachAsync(fixture.Client.CreateObjectReference<IGatewayShardObserver>(gateway));
        var author = new Author();
        await shard.SubscribeAsync(1, "sub", [new Filter { Authors = [author.Pubkey], Limit = 0 }]);
        Assert.Equal(DeliveryKind.EndOfStoredEvents, (await gateway.Inner.NextAsync()).Kind);
        await fixture.Client.GetGrain<IAuthorStreamGrain>(author.Pubkey).AppendAsync(author.Note("after the losses"));
        Assert.True(await EventuallyAsync(() => gateway.Sent.Count >= 4, tries: 200), $"{gateway.Sent.Count} batches sent");

        // The EOSE's batch was sent three times (two answers lost), each time as batch 1 of the activation; the event
        // came in batch 2. A gateway takes each number once (TakenBatches).
        Assert.Equal([(activation, 1L, 1), (activation, 1L, 1), (activation, 1L, 1), (activation, 2L, 1)], gateway.Sent);
    }
}
