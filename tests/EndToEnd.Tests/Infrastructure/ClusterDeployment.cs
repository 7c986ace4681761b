using NostrRelay.Testing;

namespace NostrRelay.EndToEnd.Tests.Infrastructure;

/// <summary>
/// A relay cluster as operators run one, on loopback: silo processes clustering through ADO.NET on the test
/// PostgreSQL and sharing a Postgres event store, plus gateway-only processes that are Orleans clients,
/// configured by <see cref="ClusterArguments"/>. Each deployment has its own cluster id and store schema.
/// </summary>
public sealed class ClusterDeployment : IDisposable
{
    private readonly List<ClusterNode> _nodes = [];

    public string ClusterId { get; } = "e2e" + Guid.NewGuid().ToString("N")[..10];

    /// <summary>Settings every process of this cluster gets besides the common ones, e.g. "--Relay:Management:Admins:0=...".</summary>
    public List<string> Settings { get; } = [];

    private string[] CommonArgs => [.. ClusterArguments.Common(TestPostgres.ConnectionString, ClusterId), .. Settings];

    /// <summary>A silo; with <paramref name="gateway"/> it also serves WebSockets (Combined mode).</summary>
    public Task<ClusterNode> StartSiloAsync(bool gateway = true) =>
        StartAsync(gateway ? "Combined" : "Silo", $"--Orleans:Endpoints:SiloPort={FreePort.Next()}", $"--Orleans:Endpoints:GatewayPort={FreePort.Next()}");

    /// <summary>A gateway-only process: an Orleans client of the cluster.</summary>
    public Task<ClusterNode> StartGatewayAsync() => StartAsync("Gateway");

    private async Task<ClusterNode> StartAsync(string mode, params string[] extra)
    {
        var port = FreePort.Next();
        // The published folder the image is built from, run from its own directory as the image runs it.
        var dll = SiloProcess.PublishedSiloDll;
        var process = await SiloProcess.StartAsync(dll, Path.GetDirectoryName(dll), [.. CommonArgs, $"--Relay:Mode={mode}", $"--Relay:Port={port}", .. extra]);
        var node = new ClusterNode(process, port);
        lock (_nodes) _nodes.Add(node);
        await node.WaitUntilReadyAsync(TimeSpan.FromSeconds(60));
        return node;
    }

    /// <summary>Stops every process, then drops the cluster's store schema: a machine that runs the tests often keeps no gigabytes of old events.</summary>
    public void Dispose()
    {
        foreach (var node in _nodes) node.Process.Dispose();
        try
        {
            using var connection = new Npgsql.NpgsqlConnection(TestPostgres.ConnectionString);
            connection.Open();
            using var drop = new Npgsql.NpgsqlCommand($"DROP SCHEMA IF EXISTS \"{ClusterId}\" CASCADE", connection);
            drop.ExecuteNonQuery();
        }
        catch (Npgsql.NpgsqlException)
        {
            // Cleaning up is not what the test checks: a schema left behind costs only disk.
        }
    }
}

/// <summary>One process of a <see cref="ClusterDeployment"/>.</summary>
public sealed class ClusterNode(SiloProcess process, int port)
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(5) };

    public SiloProcess Process { get; } = process;
    public Uri Url { get; } = new($"ws://127.0.0.1:{port}/");
    public Uri HttpUrl { get; } = new($"http://127.0.0.1:{port}/");

    public async Task<int> StatusOfAsync(string path)
    {
        try { return (int)(await Http.GetAsync(new Uri(HttpUrl, path))).StatusCode; }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException) { return 0; }
    }

    public async Task WaitUntilReadyAsync(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (await StatusOfAsync("readyz") != 200)
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"{Url} did not become ready in {timeout}");
            await Task.Delay(200);
        }
    }
}
