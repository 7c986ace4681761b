using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using NostrRelay.Benchmarks.Reporting;
using NostrRelay.Hosting;
using NostrRelay.Protocol;
using NostrRelay.Storage;
using NostrRelay.Storage.Sqlite;
using NostrRelay.Streaming;
using Orleans.Streams;
using Orleans.TestingHost;

namespace NostrRelay.Benchmarks.Scenarios;

/// <summary>
/// Reading the whole event log from its start, two ways, in a one-silo in-process cluster over a Sqlite store of
/// 20,000 events: a bookmarked consumer (<c>AddEventConsumer</c>, its handler counting) against an Orleans client
/// subscribed to the log's stream of everything from position 1. A fresh cluster per run; the two alternate.
/// </summary>
internal static class LogConsumersScenario
{
    public static async Task RunAsync(ScenarioContext context)
    {
        var size = context.Options.Quick ? 2_000 : 20_000;
        var data = Directory.CreateTempSubdirectory("relay-log-consumers-");
        try
        {
            var path = Path.Combine(data.FullName, "relay.db");
            await NegentropyScenario.FillAsync(path, size);
            var rows = new List<string[]>();
            var rates = new Dictionary<string, List<double>> { ["bookmarked consumer"] = [], ["Orleans stream subscriber"] = [] };
            for (var round = 1; round <= 2; round++)
            {
                ScenarioContext.Progress($"log-consumers: bookmarked consumer, round {round}");
                rates["bookmarked consumer"].Add(size / (await BookmarkedAsync(path, size)).TotalSeconds);
                ScenarioContext.Progress($"log-consumers: Orleans stream subscriber, round {round}");
                rates["Orleans stream subscriber"].Add(size / (await StreamAsync(path, size)).TotalSeconds);
            }
            foreach (var (name, measured) in rates)
                rows.Add([name, Report.Count(size), string.Join(" / ", measured.Select(r => Report.Count(r)))]);
            context.Report.Table(["reader of the whole log", "events", "events/s (round 1 / round 2)"], rows);
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            data.Delete(recursive: true);
        }
    }

    private static async Task<TimeSpan> BookmarkedAsync(string path, int size)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var handled = 0;
        var clock = new Stopwatch();
        await using var store = await OpenAsync(path);
        await using var cluster = await StartAsync(store, silo => silo.Services.AddEventConsumer("bench", (_, _) =>
        {
            if (Interlocked.Increment(ref handled) == 1) clock.Start();
            if (handled == size) done.TrySetResult();
            return Task.CompletedTask;
        }));
        await done.Task.WaitAsync(TimeSpan.FromMinutes(5));
        return clock.Elapsed;
    }

    private static async Task<TimeSpan> StreamAsync(string path, int size)
    {
        await using var store = await OpenAsync(path);
        await using var cluster = await StartAsync(store, _ => { });
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var received = 0;
        var clock = new Stopwatch();
        var stream = cluster.Client.GetStreamProvider(EventLogStreams.ProviderName).GetStream<NostrEvent>(EventLogStreams.All);
        await stream.SubscribeAsync((_, _) =>
        {
            if (Interlocked.Increment(ref received) == 1) clock.Start();
            if (received == size) done.TrySetResult();
            return Task.CompletedTask;
        }, EventLogStreams.From(1));
        await done.Task.WaitAsync(TimeSpan.FromMinutes(5));
        return clock.Elapsed;
    }

    private static async Task<IEventStore> OpenAsync(string path)
    {
        var store = new SqliteEventStore(new SqliteEventStoreOptions { Path = path });
        await store.InitAsync();
        return store;
    }

    private static async Task<InProcessTestCluster> StartAsync(IEventStore store, Action<ISiloBuilder> configure)
    {
        var builder = new InProcessTestClusterBuilder(1);
        builder.ConfigureSilo((_, silo) =>
        {
            silo.AddRelayGrains();
            silo.Services.AddSingleton(store);
            silo.AddMemoryGrainStorage(RelayGrainStorage.Name);
            silo.AddMemoryGrainStorage("PubSubStore");
            silo.AddEventLogStreams();
            configure(silo);
        });
        builder.ConfigureClient(client => client.AddEventLogStreams());
        var cluster = builder.Build();
        await cluster.DeployAsync();
        return cluster;
    }
}
