using Microsoft.Extensions.DependencyInjection;
using NostrRelay.Protocol;

namespace NostrRelay.Grains.Tests;

/// <summary>
/// A gateway shard in the silo's own process: a batch for a few connections reaches it by a plain call in the shard
/// grain's turn, a batch for many by an Orleans message. The reference here reaches one recorder through Orleans,
/// while the silo's list of local observers names another for it, so each batch shows which way it went.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class LocalDeliveryTests(ClusterFixture fixture) : IAsyncLifetime
{
    private readonly RecordingObserver _local = new();
    private readonly RecordingObserver _remote = new();
    private ISubscriptionGrain _shard = null!;
    private IGatewayShardObserver _reference = null!;
    private LocalShardObservers _observers = null!;

    public async Task InitializeAsync()
    {
        _shard = fixture.Client.GetGrain<ISubscriptionGrain>($"local-{Guid.NewGuid():N}/0");
        _reference = fixture.Client.CreateObjectReference<IGatewayShardObserver>(_remote);
        _observers = fixture.Cluster.Silos[0].ServiceProvider.GetRequiredService<LocalShardObservers>();
        _observers.Add(_reference, _local);
        await _shard.AttachAsync(_reference);
    }

    public Task DisposeAsync()
    {
        _observers.Remove(_reference);
        fixture.Client.DeleteObjectReference<IGatewayShardObserver>(_reference);
        return Task.CompletedTask;
    }

    private Task<AppendResult> PublishAsync(NostrEvent evt) => fixture.Client.GetGrain<IAuthorStreamGrain>(evt.Pubkey).AppendAsync(evt);

    [Fact]
    public async Task a_reqs_stored_events_and_its_eose_reach_a_local_shard_in_one_plain_call()
    {
        var author = new Author();
        var notes = new[] { author.Note("one"), author.Note("two"), author.Note("three") };
        foreach (var note in notes) await PublishAsync(note);

        await _shard.SubscribeAsync(1, "history", [new Filter { Authors = [author.Pubkey], Limit = 10 }]);
        var answer = await _local.UntilEndOfStoredEventsAsync("history");

        Assert.Equal(notes.Reverse().Select(n => n.Id), answer.Where(d => d.Kind == DeliveryKind.Event).Select(d => d.Event!.Id));
        Assert.Equal(DeliveryKind.EndOfStoredEvents, answer[^1].Kind);
        Assert.Equal(1, _local.Batches);   // the events and EOSE together
        Assert.Equal(0, _local.OffDefaultScheduler);   // run as the thread pool's, not in the grain's scheduler
        Assert.Equal(0, _remote.Batches);
    }

    [Fact]
    public async Task a_live_event_for_more_connections_than_a_plain_call_takes_goes_as_a_message()
    {
        var author = new Author();
        var most = NostrRelay.Subscriptions.SubscriptionGrain.MaxConnectionsHandedHere;
        for (var connection = 1; connection <= most; connection++)
        {
            await _shard.SubscribeAsync(connection, "live", [new Filter { Authors = [author.Pubkey], Limit = 0 }]);
            await _local.UntilEndOfStoredEventsAsync("live");   // each REQ's answer alone: one connection, a plain call
        }

        // As many connections as a plain call takes: one plain call.
        var first = author.Note("for the first ones");
        await PublishAsync(first);
        var toMost = new List<Delivery>();
        for (var i = 0; i < most; i++) toMost.Add(await _local.NextAsync());

        // One more: the same event for all of them goes as one message.
        await _shard.SubscribeAsync(most + 1, "live", [new Filter { Authors = [author.Pubkey], Limit = 0 }]);
        await _local.UntilEndOfStoredEventsAsync("live");
        var second = author.Note("for everyone");
        await PublishAsync(second);
        var toAll = new List<Delivery>();
        for (var i = 0; i <= most; i++) toAll.Add(await _remote.NextAsync());

        Assert.Equal(Enumerable.Range(1, most).Select(c => (long)c), toMost.Select(d => d.ConnectionId).Order());
        Assert.All(toMost, d => Assert.Equal(first.Id, d.Event!.Id));
        Assert.Equal(Enumerable.Range(1, most + 1).Select(c => (long)c), toAll.Select(d => d.ConnectionId).Order());
        Assert.All(toAll, d => Assert.Equal(second.Id, d.Event!.Id));
        Assert.Equal(1, _remote.Batches);
        Assert.True(await _local.NothingWithinAsync(TimeSpan.FromMilliseconds(300)));
    }
}
