using NostrRelay.Protocol;

namespace NostrRelay.Grains.Tests;

/// <summary>
/// Live fan-out across a three-silo cluster: an event committed on any silo reaches the subscription shards
/// on every silo, once, in its author's order.
/// </summary>
[Collection(ThreeSiloCollection.Name)]
public sealed class ClusterFanOutTests(ThreeSiloClusterFixture fixture)
{
    [Fact]
    public async Task events_reach_subscription_shards_on_every_silo_once_and_in_each_authors_order()
    {
        var kind = 41_000 + Random.Shared.Next(1000);
        var shards = new (ISubscriptionGrain Grain, RecordingObserver Observer)[3];
        var places = new HashSet<string>();
        for (var silo = 0; silo < 3; silo++)
        {
            var observer = new RecordingObserver();
            var grain = fixture.GrainsOn(silo).GetGrain<ISubscriptionGrain>($"fan-{Guid.NewGuid():N}/{silo}");
            await grain.AttachAsync(fixture.Client.CreateObjectReference<IGatewayShardObserver>(observer));
            await grain.SubscribeAsync(1, "live", [new Filter { Kinds = [kind], Limit = 10 }]);
            Assert.Equal(DeliveryKind.EndOfStoredEvents, (await observer.NextAsync()).Kind);
            places.Add((await fixture.WhereIsAsync(grain))!);
            shards[silo] = (grain, observer);
        }
        Assert.Equal(3, places.Count);   // one shard per silo: every hop below crosses silos

        var authors = Enumerable.Range(0, 6).Select(_ => new Author()).ToArray();
        var sent = authors.ToDictionary(a => a.Pubkey, _ => new List<string>());
        await Task.WhenAll(authors.Select(async author =>
        {
            for (var i = 0; i < 20; i++)
            {
                var evt = author.Note($"n{i}", kind: kind);
                Assert.Equal(AppendStatus.Accepted, (await fixture.Client.GetGrain<IAuthorStreamGrain>(author.Pubkey).AppendAsync(evt)).Status);
                lock (sent) sent[author.Pubkey].Add(evt.Id);
            }
        }));

        foreach (var (_, observer) in shards)
        {
            var received = new List<NostrEvent>();
            for (var i = 0; i < 120; i++) received.Add((await observer.NextAsync()).Event!);
            foreach (var author in authors)
                Assert.Equal(sent[author.Pubkey], received.Where(e => e.Pubkey == author.Pubkey).Select(e => e.Id));
            Assert.True(await observer.NothingWithinAsync(TimeSpan.FromMilliseconds(300)));   // and nothing twice
        }
    }

    [Fact]
    public async Task a_shard_on_one_silo_receives_every_authors_events_wherever_their_grains_live()
    {
        var kind = 42_000 + Random.Shared.Next(1000);
        var observer = new RecordingObserver();
        var shard = fixture.GrainsOn(1).GetGrain<ISubscriptionGrain>($"one-{Guid.NewGuid():N}/0");
        await shard.AttachAsync(fixture.Client.CreateObjectReference<IGatewayShardObserver>(observer));
        await shard.SubscribeAsync(7, "all", [new Filter { Kinds = [kind], Limit = 10 }]);
        await observer.NextAsync();   // EOSE

        // Authors called through every silo, so placement has every chance to spread their grains.
        var authors = Enumerable.Range(0, 24).Select(_ => new Author()).ToArray();
        var events = authors.Select(a => a.Note("hello", kind: kind)).ToArray();
        await Task.WhenAll(events.Select((e, i) => fixture.GrainsOn(i % 3).GetGrain<IAuthorStreamGrain>(e.Pubkey).AppendAsync(e)));

        var received = new HashSet<string>();
        for (var i = 0; i < events.Length; i++) Assert.True(received.Add((await observer.NextAsync()).Event!.Id));
        Assert.Equal(events.Select(e => e.Id).ToHashSet(), received);
        Assert.True(await observer.NothingWithinAsync(TimeSpan.FromMilliseconds(300)));
    }

    [Fact]
    public async Task an_author_grain_deactivated_and_activated_again_carries_on_its_stream_and_repeats_nothing_live()
    {
        var author = new Author();
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var observer = new RecordingObserver();
        var shard = fixture.GrainsOn(0).GetGrain<ISubscriptionGrain>($"reactivate-{Guid.NewGuid():N}/0");
        await shard.AttachAsync(fixture.Client.CreateObjectReference<IGatewayShardObserver>(observer));
        await shard.SubscribeAsync(1, "sub", [new Filter { Authors = [author.Pubkey], Limit = 10 }]);
        Assert.Equal(DeliveryKind.EndOfStoredEvents, (await observer.NextAsync()).Kind);
        var grain = fixture.Client.GetGrain<IAuthorStreamGrain>(author.Pubkey);

        var first = Enumerable.Range(0, 3).Select(i => author.Note($"first {i}", createdAt: now + i)).ToArray();
        foreach (var evt in first) await grain.AppendAsync(evt);
        var firstSilo = await fixture.WhereIsAsync(grain);
        await grain.AsReference<Orleans.Core.Internal.IGrainManagementExtension>().DeactivateOnIdle();
        var management = fixture.Client.GetGrain<IManagementGrain>(0);
        var id = grain.GetGrainId();
        for (var attempt = 0; attempt < 50 && (await management.GetActiveGrains(id.Type)).Contains(id); attempt++) await Task.Delay(100);
        Assert.DoesNotContain(id, await management.GetActiveGrains(id.Type));   // gone from every silo

        // The new activation re-reads its head, and re-drives its recent events, which this shard already had.
        var second = Enumerable.Range(0, 3).Select(i => author.Note($"second {i}", createdAt: now + 3 + i)).ToArray();
        var versions = new List<long>();
        foreach (var evt in second) versions.Add((await grain.AppendAsync(evt)).Version);
        Assert.Equal([4L, 5L, 6L], versions);

        var received = new List<string>();
        for (var i = 0; i < 6; i++) received.Add((await observer.NextAsync()).Event!.Id);
        Assert.Equal([.. first.Select(e => e.Id), .. second.Select(e => e.Id)], received);
        Assert.True(await observer.NothingWithinAsync(TimeSpan.FromMilliseconds(300)));
        Assert.NotNull(firstSilo);
    }
}
