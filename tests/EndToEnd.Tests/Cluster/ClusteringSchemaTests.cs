using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;
using NostrRelay.EndToEnd.Tests.Infrastructure;
using NostrRelay.Testing;
using NostrRelay.Silo.Clustering;
using Orleans;
using Orleans.Configuration;
using Orleans.Hosting;
using Orleans.Messaging;
using Orleans.Runtime;
using Orleans.Runtime.MembershipService;

namespace NostrRelay.EndToEnd.Tests.Cluster;

/// <summary>
/// Orleans' ADO.NET clustering on the relay's own PostgreSQL schema, with real silos and a real client, against the
/// server the test command starts (<see cref="TestPostgres"/>). Each test installs the schema in a
/// PostgreSQL schema of its own (the connection's search path), dropped afterwards. Never skipped.
/// </summary>
public sealed class ClusteringSchemaTests : IAsyncLifetime
{

    private static readonly TimeSpan MembershipTimeout = TimeSpan.FromSeconds(15);

    private static readonly string[] ClusteringQueryKeys =
    [
        "CleanupDefunctSiloEntriesKey", "DeleteMembershipTableEntriesKey", "GatewaysQueryKey", "InsertMembershipKey",
        "InsertMembershipVersionKey", "MembershipReadAllKey", "MembershipReadRowKey", "UpdateIAmAlivetimeKey",
        "UpdateMembershipKey",
    ];

    private static string ServerConnectionString => TestPostgres.ConnectionString;

    private readonly string _schema = "cluster_" + Guid.NewGuid().ToString("N");
    private readonly string _clusterId = "cluster-" + Guid.NewGuid().ToString("N")[..8];
    private readonly List<IHost> _hosts = [];

    private string ConnectionString => new NpgsqlConnectionStringBuilder(ServerConnectionString) { SearchPath = _schema }.ConnectionString;

    public async Task InitializeAsync() => await ExecuteAsync(ServerConnectionString, $"CREATE SCHEMA \"{_schema}\"");

    public async Task DisposeAsync()
    {
        // Hosts first: a silo still running would go on writing into the schema being dropped.
        for (var i = _hosts.Count - 1; i >= 0; i--) await StopAsync(_hosts[i]);
        await ExecuteAsync(ServerConnectionString, $"DROP SCHEMA IF EXISTS \"{_schema}\" CASCADE");
    }

    [Fact]
    public async Task the_schema_applied_from_three_silos_at_once_and_then_again_holds_exactly_the_nine_clustering_queries()
    {
        // On an empty schema first: that is where installs race to create the same tables.
        await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => Task.Run(() => PostgresClusteringSchema.EnsureAsync(ConnectionString))));
        await PostgresClusteringSchema.EnsureAsync(ConnectionString);
        await PostgresClusteringSchema.EnsureAsync(ConnectionString);

        var keys = await QueryAsync(ConnectionString, "SELECT querykey FROM orleansquery", r => r.GetString(0));
        Assert.Equal(ClusteringQueryKeys, keys.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task a_newer_relay_replaces_a_query_text_an_older_one_installed()
    {
        await PostgresClusteringSchema.EnsureAsync(ConnectionString);
        await ExecuteAsync(ConnectionString, "UPDATE orleansquery SET querytext = 'SELECT 1' WHERE querykey = 'GatewaysQueryKey'");

        await PostgresClusteringSchema.EnsureAsync(ConnectionString);

        var text = Assert.Single(await QueryAsync(ConnectionString,
            "SELECT querytext FROM orleansquery WHERE querykey = 'GatewaysQueryKey'", r => r.GetString(0)));
        Assert.Contains("@DeploymentId", text);
    }

    [Fact]
    public async Task a_membership_write_with_a_stale_table_version_is_refused_and_changes_nothing()
    {
        var table = await NewMembershipTableAsync();
        var now = WholeMilliseconds(DateTime.UtcNow);
        var empty = await table.ReadAllAsync();
        Assert.Empty(empty.Members);

        var first = Entry(port: 1000, SiloStatus.Joining, now);
        var second = Entry(port: 2000, SiloStatus.Joining, now);
        Assert.True(await table.InsertRowAsync(first, empty.Version.Next()));
        Assert.False(await table.InsertRowAsync(second, empty.Version.Next()));
        var one = await table.ReadAllAsync();
        Assert.Equal(empty.Version.Version + 1, one.Version.Version);
        var (stored, etag) = Assert.Single(one.Members);
        Assert.Equal((first.SiloAddress, first.SiloName, first.HostName, first.Status, first.ProxyPort, first.StartTime, first.IAmAliveTime),
            (stored.SiloAddress, stored.SiloName, stored.HostName, stored.Status, stored.ProxyPort, stored.StartTime, stored.IAmAliveTime));

        // Refused writes must not move the version either: every other silo would reread for nothing.
        // (10.4.2 itself refuses an update whose row etag is not the table version's, before any SQL.)
        Assert.False(await table.InsertRowAsync(first, one.Version.Next()));
        first.Status = SiloStatus.Active;
        Assert.False(await table.UpdateRowAsync(first, empty.Version.VersionEtag, empty.Version.Next()));
        Assert.False(await table.UpdateRowAsync(second, etag, one.Version.Next()));
        Assert.Equal(one.Version, (await table.ReadAllAsync()).Version);

        Assert.True(await table.UpdateRowAsync(first, etag, one.Version.Next()));
        var row = await table.ReadRowAsync(first.SiloAddress);
        Assert.Equal(one.Version.Version + 1, row.Version.Version);
        Assert.Equal(SiloStatus.Active, Assert.Single(row.Members).Item1.Status);
        var absent = await table.ReadRowAsync(second.SiloAddress);
        Assert.Empty(absent.Members);
        Assert.Equal(row.Version, absent.Version);
    }

    [Fact]
    public async Task heartbeats_and_suspicions_round_trip_and_only_long_gone_silos_are_cleaned_up()
    {
        var table = await NewMembershipTableAsync();
        var now = WholeMilliseconds(DateTime.UtcNow);
        var cutOff = now - TimeSpan.FromMinutes(10);
        var alive = Entry(port: 1000, SiloStatus.Active, now - TimeSpan.FromHours(1));
        var longDead = Entry(port: 2000, SiloStatus.Dead, now - TimeSpan.FromHours(1));
        var recentlyDead = Entry(port: 3000, SiloStatus.Dead, now - TimeSpan.FromHours(1));
        recentlyDead.IAmAliveTime = now;
        var crashedJoining = Entry(port: 4000, SiloStatus.Joining, now - TimeSpan.FromHours(1));   // nobody declares it dead
        foreach (var entry in new[] { alive, longDead, recentlyDead, crashedJoining })
        {
            Assert.True(await table.InsertRowAsync(entry, (await table.ReadAllAsync()).Version.Next()));
        }

        var version = (await table.ReadAllAsync()).Version;
        alive.IAmAliveTime = now;
        await table.UpdateIAmAliveAsync(alive);
        var heartbeat = await table.ReadRowAsync(alive.SiloAddress);
        Assert.Equal(now, Assert.Single(heartbeat.Members).Item1.IAmAliveTime);
        Assert.Equal(version, heartbeat.Version);

        alive.SuspectTimes = [Tuple.Create(recentlyDead.SiloAddress, now)];
        Assert.True(await table.UpdateRowAsync(alive, version.VersionEtag, version.Next()));
        var suspected = Assert.Single((await table.ReadRowAsync(alive.SiloAddress)).Members).Item1;
        Assert.Equal(alive.SuspectTimes, suspected.SuspectTimes);

        await table.CleanupDefunctSiloEntriesAsync(cutOff);
        var left = (await table.ReadAllAsync()).Members.Select(m => m.Item1.SiloAddress).ToHashSet();
        Assert.Equal(new HashSet<SiloAddress> { alive.SiloAddress, recentlyDead.SiloAddress }, left);

        await table.DeleteMembershipTableEntriesAsync(_clusterId);
        await table.InitializeMembershipTableAsync(tryInitTableVersion: true);
        var restarted = await table.ReadAllAsync();
        Assert.Empty(restarted.Members);
        Assert.Equal(0, restarted.Version.Version);
    }

    [Fact]
    public async Task two_silos_form_one_cluster_a_client_reaches_through_its_gateways_and_one_leaves_it_gracefully()
    {
        await PostgresClusteringSchema.EnsureAsync(ConnectionString);
        var first = await StartSiloAsync();
        var second = await StartSiloAsync();

        await WaitForActiveSilosAsync(first, 2);
        await WaitForActiveSilosAsync(second, 2);

        var client = await StartClientAsync();
        var gateways = await client.Services.GetRequiredService<IGatewayListProvider>().GetGateways();
        Assert.Equal(new HashSet<Uri> { GatewayUri(first), GatewayUri(second) }, gateways.ToHashSet());
        var hosts = await client.Services.GetRequiredService<IClusterClient>().GetGrain<IManagementGrain>(0).GetHosts(onlyActive: true);
        Assert.Equal(new HashSet<SiloAddress> { SiloAddressOf(first), SiloAddressOf(second) }, hosts.Keys.ToHashSet());

        var leaver = SiloAddressOf(second);
        _hosts.Remove(second);
        await StopAsync(second);

        await WaitForActiveSilosAsync(first, 1);
        hosts = await first.Services.GetRequiredService<IGrainFactory>().GetGrain<IManagementGrain>(0).GetHosts(onlyActive: true);
        Assert.Equal([SiloAddressOf(first)], hosts.Keys);
        var status = Assert.Single(await QueryAsync(ConnectionString,
            $"SELECT status FROM orleans_membership WHERE port = {leaver.Endpoint.Port} AND generation = {leaver.Generation}", r => r.GetInt32(0)));
        Assert.Equal((int)SiloStatus.Dead, status);
    }

    /// <summary>Orleans' own ADO.NET membership table over this test's schema: the contract exactly as a silo uses it.</summary>
    private async Task<AdoNetClusteringTable> NewMembershipTableAsync()
    {
        await PostgresClusteringSchema.EnsureAsync(ConnectionString);
        var table = new AdoNetClusteringTable(
            new ServiceCollection().BuildServiceProvider(),
            Options.Create(new ClusterOptions { ClusterId = _clusterId, ServiceId = "nostr-relay-tests" }),
            Options.Create(new AdoNetClusteringSiloOptions { Invariant = "Npgsql", ConnectionString = ConnectionString }),
            NullLogger<AdoNetClusteringTable>.Instance);
        await table.InitializeMembershipTableAsync(tryInitTableVersion: true);
        return table;
    }

    private static MembershipEntry Entry(int port, SiloStatus status, DateTime startTime) => new()
    {
        SiloAddress = SiloAddress.New(IPAddress.Loopback, port, generation: 7),
        SiloName = $"silo-{port}",
        HostName = "cluster-test-host",
        Status = status,
        ProxyPort = port + 1,
        StartTime = startTime,
        IAmAliveTime = startTime,
    };

    // PostgreSQL keeps microseconds, Orleans' text for suspect times milliseconds; .NET has 100 ns ticks.
    private static DateTime WholeMilliseconds(DateTime time) => new(time.Ticks - time.Ticks % TimeSpan.TicksPerMillisecond, DateTimeKind.Utc);

    private async Task<IHost> StartSiloAsync()
    {
        // No defaults: the test output directory holds the relay's appsettings.json, whose Orleans section
        // (ClusterId "local", ports 11111/30000) Orleans would otherwise bind.
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        var siloPort = FreePort.Next();
        var gatewayPort = FreePort.Next();
        builder.UseOrleans(silo =>
        {
            silo.UseAdoNetClustering(options =>
            {
                options.Invariant = "Npgsql";
                options.ConnectionString = ConnectionString;
            });
            silo.Configure<ClusterOptions>(options =>
            {
                options.ClusterId = _clusterId;
                options.ServiceId = "nostr-relay-tests";
            });
            silo.ConfigureEndpoints(IPAddress.Loopback, siloPort, gatewayPort);
            // A safety net under gossip: every silo rereads the table at least this often.
            silo.Configure<ClusterMembershipOptions>(options => options.TableRefreshTimeout = TimeSpan.FromSeconds(2));
        });
        return await StartAsync(builder.Build());
    }

    private async Task<IHost> StartClientAsync()
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.UseOrleansClient(client =>
        {
            client.UseAdoNetClustering(options =>
            {
                options.Invariant = "Npgsql";
                options.ConnectionString = ConnectionString;
            });
            client.Configure<ClusterOptions>(options =>
            {
                options.ClusterId = _clusterId;
                options.ServiceId = "nostr-relay-tests";
            });
        });
        return await StartAsync(builder.Build());
    }

    private async Task<IHost> StartAsync(IHost host)
    {
        _hosts.Add(host);
        using var timeout = new CancellationTokenSource(MembershipTimeout);
        await host.StartAsync(timeout.Token);
        return host;
    }

    private static async Task StopAsync(IHost host)
    {
        try
        {
            using var timeout = new CancellationTokenSource(MembershipTimeout);
            await host.StopAsync(timeout.Token);
        }
        finally
        {
            host.Dispose();
        }
    }

    /// <summary>Waits for this silo's own view of the cluster, as gossip and table reads update it.</summary>
    private static async Task WaitForActiveSilosAsync(IHost silo, int expected)
    {
        var membership = silo.Services.GetRequiredService<IClusterMembershipService>();
        using var timeout = new CancellationTokenSource(MembershipTimeout);
        try
        {
            await foreach (var snapshot in membership.MembershipUpdates.WithCancellation(timeout.Token))
            {
                if (ActiveCount(snapshot) == expected) return;
            }
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested)
        {
        }
        Assert.Fail($"silo {SiloAddressOf(silo)} saw {ActiveCount(membership.CurrentSnapshot)} active silos, not {expected}, within {MembershipTimeout}");
    }

    private static int ActiveCount(ClusterMembershipSnapshot snapshot)
    {
        var count = 0;
        foreach (var member in snapshot.Members.Values)
        {
            if (member.Status == SiloStatus.Active) count++;
        }
        return count;
    }

    private static SiloAddress SiloAddressOf(IHost silo) => silo.Services.GetRequiredService<ILocalSiloDetails>().SiloAddress;

    /// <summary>As a client sees it: the gateway's endpoint with the silo's generation (ILocalSiloDetails says 0).</summary>
    private static Uri GatewayUri(IHost silo)
    {
        var details = silo.Services.GetRequiredService<ILocalSiloDetails>();
        return SiloAddress.New(details.GatewayAddress.Endpoint, details.SiloAddress.Generation).ToGatewayUri();
    }

    private static async Task ExecuteAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    private static async Task<List<T>> QueryAsync<T>(string connectionString, string sql, Func<NpgsqlDataReader, T> read)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<T>();
        while (await reader.ReadAsync()) rows.Add(read(reader));
        return rows;
    }
}
