using NostrRelay.Testing;
using Npgsql;

namespace NostrRelay.Benchmarks.Relay;

/// <summary>
/// A relay cluster on loopback, configured as tests/EndToEnd.Tests' <c>ClusterDeployment</c> runs one: Combined
/// silos (silo + WebSocket gateway) clustering through ADO.NET on PostgreSQL and sharing a Postgres event store,
/// plus gateway-only processes (Orleans clients). Each cluster has its own cluster id, which is also its store
/// schema; both are removed from the database when the cluster is disposed. Membership is tuned to notice a
/// dead silo in a few seconds, as an operator who wants fast failover would.
/// </summary>
internal sealed class RelayCluster : IAsyncDisposable
{
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(90);

    private readonly string _siloDll;
    private readonly List<RelayProcess> _silos = [];
    private readonly List<RelayProcess> _gateways = [];

    private RelayCluster(string siloDll) => _siloDll = siloDll;

    /// <summary>The test PostgreSQL (see <see cref="TestPostgres"/>).</summary>
    public static string ConnectionString => TestPostgres.ConnectionString;

    /// <summary>Also the store schema's name: lowercase letters and digits, so it needs no quoting rules beyond the usual.</summary>
    public string ClusterId { get; } = "bench" + Guid.NewGuid().ToString("N")[..10];

    /// <summary>Silo processes in the order they started; silo 1 is <c>Silos[0]</c>.</summary>
    public IReadOnlyList<RelayProcess> Silos => _silos;

    public IReadOnlyList<RelayProcess> Gateways => _gateways;

    public IEnumerable<RelayProcess> Processes => _silos.Concat(_gateways);

    /// <summary>CPU time of every process still running (a killed silo's stops counting).</summary>
    public TimeSpan CpuTime
    {
        get
        {
            var total = TimeSpan.Zero;
            foreach (var process in Processes)
                if (!process.HasExited) total += process.CpuTime;
            return total;
        }
    }

    /// <summary>Fails with a hint when PostgreSQL does not answer: the cluster scenarios cannot run without it.</summary>
    public static async Task CheckDatabaseAsync()
    {
        try
        {
            await using var connection = new NpgsqlConnection(ConnectionString);
            await connection.OpenAsync();
        }
        catch (Exception ex) when (ex is NpgsqlException or InvalidOperationException or System.Net.Sockets.SocketException)
        {
            throw new InvalidOperationException($"PostgreSQL at '{new NpgsqlConnectionStringBuilder(ConnectionString) { Password = null }}' did not answer ({ex.Message}); " +
                "start it as test.sh does, or set RELAY_TEST_POSTGRES", ex);
        }
    }

    /// <summary>
    /// Starts the silos one after another (each ready, i.e. Active in the cluster with its gateway shards
    /// attached, before the next starts), then the gateways.
    /// </summary>
    public static async Task<RelayCluster> StartAsync(string siloDll, int silos, int gateways)
    {
        var cluster = new RelayCluster(siloDll);
        try
        {
            for (var i = 0; i < silos; i++) await cluster.StartProcessAsync(gateway: false);
            for (var i = 0; i < gateways; i++) await cluster.StartProcessAsync(gateway: true);
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    private string[] CommonArguments => ClusterArguments.Common(ConnectionString, ClusterId);

    private async Task StartProcessAsync(bool gateway)
    {
        var ports = FreePorts.Take(3);
        string[] arguments = gateway
            ? [.. CommonArguments, "--Relay:Mode=Gateway"]
            : [.. CommonArguments, "--Relay:Mode=Combined", $"--Orleans:Endpoints:SiloPort={ports[1]}", $"--Orleans:Endpoints:GatewayPort={ports[2]}"];
        var process = await RelayProcess.StartAsync(_siloDll, ports[0], arguments, ReadyTimeout);
        (gateway ? _gateways : _silos).Add(process);   // before waiting: a process that never gets ready is still stopped
        await process.WaitUntilReadyAsync(ReadyTimeout);
    }

    /// <summary>Stops every process, then removes the cluster's store schema and membership rows.</summary>
    public async ValueTask DisposeAsync()
    {
        foreach (var process in Processes) await process.DisposeAsync();
        try
        {
            await using var connection = new NpgsqlConnection(ConnectionString);
            await connection.OpenAsync();
            await using var drop = new NpgsqlCommand($"DROP SCHEMA IF EXISTS \"{ClusterId}\" CASCADE", connection);
            await drop.ExecuteNonQueryAsync();
            // The version row's members go with it (ON DELETE CASCADE in the relay's clustering schema).
            await using var forget = new NpgsqlCommand("DELETE FROM orleans_membership_version WHERE cluster_id = @id", connection);
            forget.Parameters.AddWithValue("id", ClusterId);
            await forget.ExecuteNonQueryAsync();
        }
        catch (Exception ex) when (ex is NpgsqlException or InvalidOperationException)
        {
            Console.Error.WriteLine($"could not remove cluster {ClusterId} from PostgreSQL: {ex.Message}");
        }
    }
}
