using NostrRelay.Protocol;

namespace NostrRelay.Grains.Tests;

/// <summary>
/// Subscription grains: stored events, then EOSE, then live events, through the gateway shard's observer;
/// nothing lost or sent twice across the switch; CLOSE and disconnect stop delivery.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class SubscriptionGrainTests(ClusterFixture fixture) : IAsyncLifetime
{
    private readonly RecordingObserver _observer = new();
    private ISubscriptionGrain _shard = null!;
    private IGatewayShardObserver _reference = null!;

    public async Task InitializeAsync()
    {
        _shard = fixture.Client.GetGrain<ISubscriptionGrain>($"test-{Guid.NewGuid():N}/0");
        _reference = fixture.Client.CreateObjectReference<IGatewayShardObserver>(_observer);
        await _shard.AttachAsync(_reference);
    }

    public Task DisposeAsync()
    {
        fixture.Client.DeleteObjectReference<IGatewayShardObserver>(_reference);
        return Task.CompletedTask;
    }

    private Task<AppendResult> PublishAsync(NostrEvent evt) => fixture.Client.GetGrain<IAuthorStreamGrain>(evt.Pubkey).AppendAsync(evt);

    [Fact]
    public async Task stored_events_arrive_newest_first_then_eose_then_live_events()
    {
        var author = new Author();
        var old1 = author.Note("old 1");
        var old2 = author.Note("old 2");
        await PublishAsync(old1);
        await PublishAsync(old2);

        await _shard.SubscribeAsync(1, "sub", [new Filter { Authors = [author.Pubkey], Limit = 10 }]);
        var catchUp = await _observer.UntilEndOfStoredEventsAsync("sub");
        var live = author.Note("live");
        await PublishAsync(live);
        var next = await _observer.NextAsync();

        Assert.Equal([old2.Id, old1.Id], catchUp.Where(d => d.Kind == DeliveryKind.Event).Select(d => d.Event!.Id));
        Assert.Equal(DeliveryKind.EndOfStoredEvents, catchUp[^1].Kind);
        Assert.Equal((DeliveryKind.Event, live.Id, 1L, "sub"), (next.Kind, next.Event!.Id, next.ConnectionId, next.SubscriptionId));
    }

    [Fact]
    public async Task events_committed_while_subscribing_are_each_delivered_exactly_once()
    {
        var authors = Enumerable.Range(0, 8).Select(_ => new Author()).ToArray();
        var kind = 40_000 + Random.Shared.Next(1000);   // a regular kind nothing else in the cluster uses
        var events = authors.SelectMany(a => Enumerable.Range(0, 25).Select(i => a.Note($"n{i}", kind: kind))).ToArray();

        var publishing = Task.Run(async () =>
        {
            foreach (var batch in events.Chunk(8)) await Task.WhenAll(batch.Select(PublishAsync));
        });
        await Task.Delay(5);
        await _shard.SubscribeAsync(7, "race", [new Filter { Kinds = [kind], Limit = 5000 }]);
        await publishing;

        var received = new List<string>();
        var eose = false;
        while (received.Count < events.Length)
        {
            var delivery = await _observer.NextAsync();
            if (delivery.Kind == DeliveryKind.EndOfStoredEvents) eose = true;
            else received.Add(delivery.Event!.Id);
        }
        if (!eose) Assert.Equal(DeliveryKind.EndOfStoredEvents, (await _observer.NextAsync()).Kind);

        Assert.Equal(events.Select(e => e.Id).Order(), received.Order());
        Assert.True(await _observer.NothingWithinAsync(TimeSpan.FromMilliseconds(300)));
    }

    [Fact]
    public async Task a_stored_event_that_arrives_again_live_after_eose_is_dropped_and_a_live_one_of_the_same_second_is_not()
    {
        var author = new Author();
        var older = author.Note("older", createdAt: 1_000);
        var newest = author.Note("newest", createdAt: 2_000);
        await PublishAsync(older);
        await PublishAsync(newest);
        await _shard.SubscribeAsync(3, "echo", [new Filter { Authors = [author.Pubkey] }]);
        await _observer.UntilEndOfStoredEventsAsync("echo");
        var sameSecond = author.Note("same second", createdAt: 2_000);
        var later = author.Note("later", createdAt: 2_001);

        // Version 0: not held to the author's last version, as a replayed or ephemeral event is not.
        await _shard.PublishAsync(new EventBatch([new LiveEvent(older, 0, 0), new LiveEvent(newest, 0, 0), new LiveEvent(sameSecond, 0, 0), new LiveEvent(later, 0, 0)]));

        Assert.Equal(sameSecond.Id, (await _observer.NextAsync()).Event!.Id);
        Assert.Equal(later.Id, (await _observer.NextAsync()).Event!.Id);
        Assert.True(await _observer.NothingWithinAsync(TimeSpan.FromMilliseconds(300)));
    }

    [Fact]
    public async Task after_unsubscribe_nothing_more_is_delivered()
    {
        var author = new Author();
        await _shard.SubscribeAsync(2, "gone", [new Filter { Authors = [author.Pubkey], Limit = 0 }]);
        await _observer.UntilEndOfStoredEventsAsync("gone");

        await _shard.UnsubscribeAsync(2, "gone");
        await PublishAsync(author.Note("unseen"));

        Assert.True(await _observer.NothingWithinAsync(TimeSpan.FromMilliseconds(300)));
    }

    [Fact]
    public async Task a_connection_the_gateway_no_longer_has_is_let_go_at_its_next_delivery()
    {
        // Connection 3's disconnect never reached the grain (lost with a gateway connection): the gateway says so.
        var gateway = new ForgetfulObserver(forgotten: 3);
        var shard = fixture.Client.GetGrain<ISubscriptionGrain>($"test-{Guid.NewGuid():N}/0");
        var reference = fixture.Client.CreateObjectReference<IGatewayShardObserver>(gateway);
        try
        {
            await shard.AttachAsync(reference);
            var author = new Author();
            await shard.SubscribeAsync(3, "lost", [new Filter { Authors = [author.Pubkey], Limit = 0 }]);
            await shard.SubscribeAsync(4, "kept", [new Filter { Authors = [author.Pubkey], Limit = 0 }]);
            await gateway.Recorded.UntilEndOfStoredEventsAsync("kept");

            await PublishAsync(author.Note("first"));
            Assert.Equal("kept", (await gateway.Recorded.NextAsync()).SubscriptionId);
            // Refused: the EOSE, and the first event too when the grain matched it while the EOSE's receipt was on its way.
            var refused = gateway.Forgotten;
            await PublishAsync(author.Note("second"));
            Assert.Equal("kept", (await gateway.Recorded.NextAsync()).SubscriptionId);

            // Once the grain read the receipt (before it handed on the batch after it), it sent connection 3 nothing more.
            Assert.InRange(refused, 1, 2);
            Assert.Equal(refused, gateway.Forgotten);
        }
        finally
        {
            fixture.Client.DeleteObjectReference<IGatewayShardObserver>(reference);
        }
    }

    [Fact]
    public async Task a_disconnect_ends_every_subscription_of_the_connection()
    {
        var author = new Author();
        await _shard.SubscribeAsync(3, "a", [new Filter { Authors = [author.Pubkey], Limit = 0 }]);
        await _shard.SubscribeAsync(3, "b", [new Filter { Kinds = [1], Limit = 0 }]);
        await _observer.UntilEndOfStoredEventsAsync("a");
        await _observer.UntilEndOfStoredEventsAsync("b");

        await _shard.DisconnectAsync(3);
        await PublishAsync(author.Note("unseen"));

        Assert.True(await _observer.NothingWithinAsync(TimeSpan.FromMilliseconds(300)));
    }

    [Fact]
    public async Task a_subscription_with_the_same_id_replaces_the_previous_one()
    {
        var alice = new Author();
        var bob = new Author();
        await _shard.SubscribeAsync(4, "same", [new Filter { Authors = [alice.Pubkey], Limit = 0 }]);
        await _observer.UntilEndOfStoredEventsAsync("same");
        await _shard.SubscribeAsync(4, "same", [new Filter { Authors = [bob.Pubkey], Limit = 0 }]);
        await _observer.UntilEndOfStoredEventsAsync("same");

        await PublishAsync(alice.Note("old filter"));
        var fromBob = bob.Note("new filter");
        await PublishAsync(fromBob);

        Assert.Equal(fromBob.Id, (await _observer.NextAsync()).Event!.Id);
        Assert.True(await _observer.NothingWithinAsync(TimeSpan.FromMilliseconds(300)));
    }

    [Fact]
    public async Task what_was_still_queued_for_a_replaced_subscription_is_not_sent_as_the_new_ones()
    {
        var gateway = new GatedObserver();
        var shard = fixture.Client.GetGrain<ISubscriptionGrain>($"test-{Guid.NewGuid():N}/0");
        var reference = fixture.Client.CreateObjectReference<IGatewayShardObserver>(gateway);
        try
        {
            await shard.AttachAsync(reference);
            var alice = new Author();
            var bob = new Author();
            await shard.SubscribeAsync(1, "same", [new Filter { Authors = [alice.Pubkey], Limit = 0 }]);
            await gateway.Inner.UntilEndOfStoredEventsAsync("same");

            // One batch waits at the gateway; two more of alice's events queue behind it at the shard.
            gateway.Close();
            var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 1;
            var first = alice.Note("in flight", createdAt: now);
            await shard.PublishAsync(new EventBatch([new LiveEvent(first, 1, 1)]));
            while (gateway.Arrived < 2) await Task.Delay(10);
            await shard.PublishAsync(new EventBatch([new LiveEvent(alice.Note("queued 1", createdAt: now + 1), 2, 2)]));
            await shard.PublishAsync(new EventBatch([new LiveEvent(alice.Note("queued 2", createdAt: now + 2), 3, 3)]));
            await shard.SubscribeAsync(1, "same", [new Filter { Authors = [bob.Pubkey], Limit = 0 }]);   // NIP-01: replaces it
            gateway.Open();

            Assert.Equal(first.Id, (await gateway.Inner.NextAsync()).Event!.Id);   // handed on before the REQ came: it cannot be recalled
            var next = await gateway.Inner.NextAsync();
            Assert.Equal(DeliveryKind.EndOfStoredEvents, next.Kind);   // the new REQ's, and nothing of alice's before it
            Assert.True(await gateway.Inner.NothingWithinAsync(TimeSpan.FromMilliseconds(300)));
        }
        finally
        {
            fixture.Client.DeleteObjectReference<IGatewayShardObserver>(reference);
        }
    }

    [Fact]
    public async Task an_ephemeral_event_reaches_a_live_subscription()
    {
        var author = new Author();
        await _shard.SubscribeAsync(5, "eph", [new Filter { Authors = [author.Pubkey], Limit = 10 }]);
        await _observer.UntilEndOfStoredEventsAsync("eph");

        var evt = author.Note("typing…", kind: 20_001);
        await PublishAsync(evt);

        Assert.Equal(evt.Id, (await _observer.NextAsync()).Event!.Id);
    }
}
