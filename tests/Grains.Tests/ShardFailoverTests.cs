using Microsoft.Extensions.DependencyInjection;
using NostrRelay.Protocol;
using Orleans.TestingHost;

namespace NostrRelay.Grains.Tests;

/// <summary>
/// A silo stopped mid-test in a three-silo TestCluster: the subscription shard it held comes back empty on
/// another silo with a new activation id, and resuming it from where the gateway's client got to sends what
/// was missed, once, without a second EOSE. Author grains that lived there carry on at the next version.
/// Its own cluster, since stopping a silo would disturb the shared one.
/// </summary>
public sealed class ShardFailoverTests : IAsyncLifetime
{
    private readonly ThreeSiloClusterFixture _ownCluster = new();
    private InProcessTestCluster _cluster = null!;

    public async Task InitializeAsync()
    {
        await _ownCluster.InitializeAsync();
        _cluster = _ownCluster.Cluster;
    }

    public Task DisposeAsync() => _ownCluster.DisposeAsync();

    [Fact]
    public async Task a_shard_lost_with_its_silo_is_resumed_and_sends_what_was_missed_once()
    {
        var client = _cluster.Client;
        var doomed = _cluster.Silos[2];
        var observer = new RecordingObserver();
        var reference = client.CreateObjectReference<IGatewayShardObserver>(observer);
        var key = $"failover-{Guid.NewGuid():N}/0";
        var shard = doomed.ServiceProvider.GetRequiredService<IGrainFactory>().GetGrain<ISubscriptionGrain>(key);
        var firstActivation = await shard.AttachAsync(reference);
        var author = new Author();
        var filters = new[] { new Filter { Authors = [author.Pubkey], Limit = 100 } };
        await shard.SubscribeAsync(1, "sub", filters);
        Assert.Equal(DeliveryKind.EndOfStoredEvents, (await observer.NextAsync()).Kind);

        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var before = Enumerable.Range(0, 5).Select(i => author.Note($"before {i}", createdAt: now + i)).ToArray();
        foreach (var evt in before) await AppendAsync(evt);
        var delivered = new List<NostrEvent>();
        for (var i = 0; i < before.Length; i++) delivered.Add((await observer.NextAsync()).Event!);
        Assert.Equal(before.Select(e => e.Id), delivered.Select(e => e.Id));

        await _cluster.StopSiloAsync(doomed);
        // Published while no shard holds the subscription: the resume must bring these.
        // One was signed a while before it was sent: older than the newest event the client already has.
        var during = new[] { author.Note("signed early", createdAt: now + 2) }
            .Concat(Enumerable.Range(0, 3).Select(i => author.Note($"during {i}", createdAt: now + 5 + i))).ToArray();
        var versions = new List<long>();
        foreach (var evt in during) versions.Add((await AppendAsync(evt)).Version);
        Assert.Equal([6L, 7L, 8L, 9L], versions);   // the author's stream carries on wherever its grain is now

        var secondActivation = await client.GetGrain<ISubscriptionGrain>(key).AttachAsync(reference);
        Assert.NotEqual(firstActivation, secondActivation);
        await client.GetGrain<ISubscriptionGrain>(key).ResumeAsync(1, "sub", filters,
            new ResumePoint(now - 30, [.. delivered.Select(e => ResumePoint.IdKey(e.Id))]));
        var after = author.Note("after", createdAt: now + 20);
        await AppendAsync(after);

        var resumed = new List<Delivery>();
        for (var i = 0; i < during.Length + 1; i++) resumed.Add(await observer.NextAsync());
        Assert.All(resumed, d => Assert.Equal(DeliveryKind.Event, d.Kind));   // no second EOSE
        Assert.Equal([.. during.OrderBy(e => e.CreatedAt).Select(e => e.Id), after.Id], resumed.Select(d => d.Event!.Id));   // oldest first, then live
        Assert.True(await observer.NothingWithinAsync(TimeSpan.FromMilliseconds(300)));   // nothing twice
    }

    [Fact]
    public async Task a_shard_drops_an_authors_repeated_or_older_versions_but_not_ephemeral_events()
    {
        var observer = new RecordingObserver();
        var shard = _cluster.Client.GetGrain<ISubscriptionGrain>($"repeat-{Guid.NewGuid():N}/0");
        await shard.AttachAsync(_cluster.Client.CreateObjectReference<IGatewayShardObserver>(observer));
        var author = new Author();
        await shard.SubscribeAsync(1, "sub", [new Filter { Authors = [author.Pubkey], Limit = 0 }]);
        Assert.Equal(DeliveryKind.EndOfStoredEvents, (await observer.NextAsync()).Kind);

        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 1;   // created after the REQ, as live events are
        var v1 = new LiveEvent(author.Note("one", createdAt: now), 1, 101);
        var v2 = new LiveEvent(author.Note("two", createdAt: now + 1), 2, 102);
        var v3 = new LiveEvent(author.Note("three", createdAt: now + 2), 3, 103);
        var ephemeral = new LiveEvent(author.Note("typing", createdAt: now + 3, kind: 20_001), 0, 0);
        await shard.PublishAsync(new EventBatch([v1, v2, ephemeral]));
        await shard.PublishAsync(new EventBatch([v2, v1, v3, ephemeral], Redriven: true));

        var ids = new List<string>();
        for (var i = 0; i < 5; i++) ids.Add((await observer.NextAsync()).Event!.Id);
        Assert.Equal([v1.Event.Id, v2.Event.Id, ephemeral.Event.Id, v3.Event.Id, ephemeral.Event.Id], ids);
        Assert.True(await observer.NothingWithinAsync(TimeSpan.FromMilliseconds(300)));
    }

    [Fact]
    public async Task a_replayed_event_reaches_a_shard_that_already_had_a_later_version_of_its_author()
    {
        // Another silo replays an event its new keys name, after a later event of the author came under older keys.
        var observer = new RecordingObserver();
        var shard = _cluster.Client.GetGrain<ISubscriptionGrain>($"replayed-{Guid.NewGuid():N}/0");
        await shard.AttachAsync(_cluster.Client.CreateObjectReference<IGatewayShardObserver>(observer));
        var author = new Author();
        await shard.SubscribeAsync(1, "sub", [new Filter { Authors = [author.Pubkey], Limit = 0 }]);
        Assert.Equal(DeliveryKind.EndOfStoredEvents, (await observer.NextAsync()).Kind);

        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 1;
        var v9 = new LiveEvent(author.Note("a reaction", createdAt: now, kind: 7), 9, 109);
        var v10 = new LiveEvent(author.Note("a note", createdAt: now + 1), 10, 110);
        await shard.PublishAsync(new EventBatch([v10]));
        await shard.PublishAsync(new EventBatch([v9]));   // not replayed: a repeat, dropped
        await shard.PublishAsync(new EventBatch([v9], Replayed: true));

        Assert.Equal(v10.Event.Id, (await observer.NextAsync()).Event!.Id);
        Assert.Equal(v9.Event.Id, (await observer.NextAsync()).Event!.Id);
        Assert.True(await observer.NothingWithinAsync(TimeSpan.FromMilliseconds(300)));
    }

    private Task<AppendResult> AppendAsync(NostrEvent evt) => _cluster.Client.GetGrain<IAuthorStreamGrain>(evt.Pubkey).AppendAsync(evt);
}
