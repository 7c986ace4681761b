using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Npgsql;
using NostrRelay.Hosting;
using Orleans.Storage;

namespace NostrRelay.Storage.Tests;

/// <summary>
/// The "relay" grain storage on PostgreSQL as a cluster runs it: Orleans' own ADO.NET provider, in a silo started
/// here, with the relay's schema installed as the silo starts, in a schema of its own per test class instance.
/// </summary>
public sealed class AdoNetGrainStorageTests : GrainStorageConformance, IAsyncLifetime
{
    private static string ConnectionString =>
        Environment.GetEnvironmentVariable("RELAY_TEST_POSTGRES") is { Length: > 0 } configured ? configured
            : "Host=127.0.0.1;Port=5432;Username=relay;Password=relay;Database=relay_tests";

    private readonly string _schema = "a_" + Guid.NewGuid().ToString("N");
    private readonly List<IHost> _silos = [];

    protected override IGrainStorage Open() => Open(ConnectionString);

    [Fact]
    public async Task a_burst_of_grain_activations_holds_at_most_ten_connections_to_PostgreSQL()
    {
        // A thousand author grains activating at once on a few silos must not take PostgreSQL's 100 connections.
        var application = "pool-" + Guid.NewGuid().ToString("N")[..12];
        var storage = Open(ConnectionString + $";Application Name={application}");
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var count = new NpgsqlCommand("SELECT count(*) FROM pg_stat_activity WHERE application_name = $1", connection)
        {
            Parameters = { new() { Value = application } },
        };

        // Counted while the burst runs: test classes beside this one clear every Npgsql pool when they end, which
        // closes the idle connections a count taken afterwards would have found.
        var burst = Task.WhenAll(Enumerable.Range(0, 300).Select(i =>
            storage.ReadStateAsync("bookmark", GrainId.Create("consumer", $"burst-{i}"), new GrainState<NostrRelay.Consumers.ConsumerBookmark>())));
        long most = 0;
        do most = Math.Max(most, (long)(await count.ExecuteScalarAsync())!);
        while (!burst.IsCompleted);
        await burst;

        Assert.InRange(most, 1, 10);
    }

    private IGrainStorage Open(string connectionString)
    {
        var silo = Host.CreateDefaultBuilder()
            .UseOrleans(orleans => orleans
                .UseLocalhostClustering(FreePort(), FreePort(), serviceId: "grain-storage-tests", clusterId: _schema)
                .AddPostgresRelayGrainStorage(connectionString, _schema))
            .Build();
        silo.StartAsync().GetAwaiter().GetResult();
        _silos.Add(silo);
        return silo.Services.GetRequiredKeyedService<IGrainStorage>(RelayGrainStorage.Name);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var silo in _silos)
        {
            await silo.StopAsync();
            silo.Dispose();
        }
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var drop = new NpgsqlCommand($"DROP SCHEMA IF EXISTS \"{_schema}\" CASCADE", connection);
        await drop.ExecuteNonQueryAsync();
    }
}
