using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using NostrRelay.GrainStorage;
using NostrRelay.Protocol;
using NostrRelay.Storage;
using NostrRelay.Streaming;
using Orleans.Runtime.Hosting;
using Orleans.Streams;

namespace NostrRelay.Grains.Tests;

/// <summary>
/// The event log as Orleans streams in a three-silo TestCluster: a client subscribes with the standard stream API from a
/// position, gets every event of its stream after it in log order, and a silo stopped mid-stream (the one whose pulling
/// agent reads the log) skips and loses nothing. Subscriptions are kept in a Sqlite grain storage the silos share.
/// </summary>
public sealed class EventLogStreamTests : IAsyncLifetime
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "nostr-relay-stream-tests", Guid.NewGuid().ToString("N"));
    private StreamCluster _cluster = null!;

    private sealed class StreamCluster(string pubSubStore) : RelayTestCluster(silos: 3)
    {
        protected override void ConfigureSilo(ISiloBuilder silo)
        {
            silo.AddEventLogStreams(options => options.PollPeriod = TimeSpan.FromMilliseconds(20));
            silo.Services.AddGrainStorage("PubSubStore", (services, _) => new SqliteGrainStorage(pubSubStore, services.GetRequiredService<Orleans.Storage.IGrainStorageSerializer>()));
        }

        protected override void ConfigureClient(IClientBuilder client) => client.AddEventLogStreams();
    }

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_directory);
        _cluster = new StreamCluster(Path.Combine(_directory, "pubsub.db"));
        await _cluster.InitializeAsync();
    }

    public async Task DisposeAsync()
    {
        await _cluster.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        if (Directory.Exists(_directory)) Directory.Delete(_directory, recursive: true);
    }

    private IEventStore Store => _cluster.Store;

    /// <summary>Appends notes of the given kinds, each by a new author, and returns them with their positions.</summary>
    private async Task<List<(long Position, NostrEvent Event)>> AppendAsync(params int[] kinds)
    {
        var appended = new List<(long, NostrEvent)>();
        foreach (var kind in kinds)
        {
            var author = new Author();
            var evt = author.Note($"kind {kind} by {author.Pubkey[..8]}", kind: kind);
            var saved = await Store.SaveAsync(evt, author.Pubkey, 0);
            Assert.Equal(SaveOutcome.Saved, saved.Outcome);
            appended.Add((saved.Position, evt));
        }
        return appended;
    }

    private sealed class Collector : IAsyncObserver<NostrEvent>
    {
        public ConcurrentQueue<(long Position, string Id)> Received { get; } = new();

        public Task OnNextAsync(NostrEvent item, StreamSequenceToken? token = null)
        {
            Received.Enqueue((EventLogStreams.PositionOf(token!), item.Id));
            return Task.CompletedTask;
        }

        public Task OnCompletedAsync() => Task.CompletedTask;

        public Task OnErrorAsync(Exception ex) => Task.CompletedTask;

        /// <summary>Waits until every expected position has come, then says what came, in order.</summary>
        public async Task<List<(long Position, string Id)>> UntilAsync(IEnumerable<long> positions, TimeSpan timeout)
        {
            var expected = positions.ToHashSet();
            var deadline = DateTime.UtcNow + timeout;
            while (!expected.IsSubsetOf(Received.Select(r => r.Position)) && DateTime.UtcNow < deadline) await Task.Delay(20);
            return [.. Received];
        }
    }

    private static IAsyncStream<NostrEvent> Stream(IClusterClient client, StreamId id) =>
        client.GetStreamProvider(EventLogStreams.ProviderName).GetStream<NostrEvent>(id);

    [Fact]
    public async Task a_client_subscribed_from_a_position_gets_every_event_of_its_stream_after_it_in_log_order()
    {
        var before = await AppendAsync(1, 7, 1, 1, 7, 1);
        var collector = new Collector();
        // From the third stored event on: the first two are before the subscription's position.
        await Stream(_cluster.Client, EventLogStreams.OfKind(1)).SubscribeAsync(collector, EventLogStreams.From(before[2].Position));
        var after = await AppendAsync(7, 1, 1, 7, 1);

        var expected = before.Skip(2).Concat(after).Where(e => e.Event.Kind == 1).ToList();
        var received = await collector.UntilAsync(expected.Select(e => e.Position), TimeSpan.FromSeconds(20));

        Assert.Equal(expected.Select(e => (e.Position, e.Event.Id)), received);
    }

    [Fact]
    public async Task a_silo_stopped_mid_stream_skips_and_loses_nothing()
    {
        var collector = new Collector();
        await Stream(_cluster.Client, EventLogStreams.All).SubscribeAsync(collector, EventLogStreams.From(1));
        var first = await AppendAsync([.. Enumerable.Range(0, 40).Select(i => i % 3 == 0 ? 7 : 1)]);
        await collector.UntilAsync(first.Select(e => e.Position), TimeSpan.FromSeconds(20));

        // The silo whose pulling agent reads the log (the in-process cluster keeps membership apart from every silo, so any may stop).
        var reading = Assert.Single(_cluster.Cluster.Silos, silo => Factory(silo).OpenReceivers > 0);
        var during = AppendAsync([.. Enumerable.Range(0, 40).Select(i => i % 3 == 0 ? 7 : 1)]);
        await _cluster.Cluster.StopSiloAsync(reading);
        var second = await during;
        var third = await AppendAsync([.. Enumerable.Range(0, 20).Select(_ => 1)]);

        var all = first.Concat(second).Concat(third).ToList();
        var received = await collector.UntilAsync(all.Select(e => e.Position), TimeSpan.FromSeconds(60));
        Assert.True(_cluster.Cluster.Silos.Sum(silo => Factory(silo).OpenReceivers) == 1, "one silo reads the log after the stop");

        // At least once and in order: every position came, none came out of order, and a repeat (after the handover) is the same event.
        var missing = all.Select(e => e.Position).Except(received.Select(r => r.Position)).ToList();
        Assert.True(missing.Count == 0, $"{missing.Count} events were skipped, first {string.Join(", ", missing.Take(5))}");
        for (var i = 1; i < received.Count; i++)
            Assert.True(received[i].Position > received[i - 1].Position || received.Take(i).Contains(received[i]),
                $"position {received[i].Position} came after {received[i - 1].Position} and is not a repeat");
        var byPosition = all.ToDictionary(e => e.Position, e => e.Event.Id);
        Assert.All(received, r => Assert.Equal(byPosition[r.Position], r.Id));
    }

    [Fact]
    public async Task a_subscriber_from_the_start_of_a_log_longer_than_the_cache_reads_the_older_part_from_the_store()
    {
        // 6,000 events, five of them articles: the cache keeps the newest 4,096, so the first articles come from the store.
        var kinds = Enumerable.Range(0, 6_000).Select(i => i % 1_300 == 7 ? 30_023 : 1).ToArray();
        var appended = await AppendAsync(kinds);
        var articles = appended.Where(e => e.Event.Kind == 30_023).ToList();
        Assert.Equal(5, articles.Count);
        await WaitUntilReadAsync(appended[^1].Position);

        var collector = new Collector();
        await Stream(_cluster.Client, EventLogStreams.OfKind(30_023)).SubscribeAsync(collector, EventLogStreams.From(1));
        var received = await collector.UntilAsync(articles.Select(e => e.Position), TimeSpan.FromSeconds(30));

        Assert.Equal(articles.Select(e => (e.Position, e.Event.Id)), received);
    }

    /// <summary>Until the silo reading the log has read up to <paramref name="position"/>.</summary>
    private async Task WaitUntilReadAsync(long position)
    {
        var collector = new Collector();
        var handle = await Stream(_cluster.Client, EventLogStreams.All).SubscribeAsync(collector, EventLogStreams.From(position));
        await collector.UntilAsync([position], TimeSpan.FromSeconds(30));
        await handle.UnsubscribeAsync();
    }

    [Fact]
    public async Task the_projection_example_counts_each_kind_once_whichever_silo_it_runs_on()
    {
        var appended = await AppendAsync([.. Enumerable.Range(0, 30).Select(i => i % 3 == 0 ? 30_023 : 6)]);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        var articles = _cluster.Client.GetGrain<IKindCountGrain>("30023");
        var reposts = _cluster.Client.GetGrain<IKindCountGrain>("6");
        while ((await articles.GetAsync() < 10 || await reposts.GetAsync() < 20) && DateTime.UtcNow < deadline) await Task.Delay(50);
        await Task.Delay(300);   // a repeat would be counted by now
        Assert.Equal(10, await articles.GetAsync());
        Assert.Equal(20, await reposts.GetAsync());
    }

    private static EventLogAdapterFactory Factory(Orleans.TestingHost.InProcessSiloHandle silo) =>
        (EventLogAdapterFactory)silo.ServiceProvider.GetRequiredKeyedService<IQueueAdapterFactory>(EventLogStreams.ProviderName);
}
