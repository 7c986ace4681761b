using NostrRelay.Benchmarks.Relay;
using NostrRelay.Benchmarks.Reporting;

namespace NostrRelay.Benchmarks.Scenarios;

/// <summary>What every scenario gets: the options, the relay to start and the report to fill.</summary>
internal sealed class ScenarioContext(BenchmarkOptions options, string siloDll, Report report)
{
    private readonly HashSet<string> _verifiers = [];
    private readonly HashSet<string> _stores = [];

    public BenchmarkOptions Options { get; } = options;

    /// <summary>The relay build being measured (for scenarios that start it on a store of their own, or run its commands).</summary>
    public string SiloDll { get; } = siloDll;
    public Report Report { get; } = report;

    /// <summary>The verifiers and stores the relay processes announced (one each, unless something changed mid-run).</summary>
    public IReadOnlyCollection<string> Verifiers => _verifiers;
    public IReadOnlyCollection<string> Stores => _stores;

    /// <summary>A fresh relay process with an empty store.</summary>
    public async Task<RelayProcess> StartRelayAsync()
    {
        var relay = await RelayProcess.StartAsync(siloDll, TimeSpan.FromSeconds(60));
        _verifiers.Add(relay.Verifier);
        _stores.Add(StoreKind(relay.Store));
        return relay;
    }

    /// <summary>
    /// A fresh cluster on the test PostgreSQL with its own cluster id and store schema: <paramref name="silos"/>
    /// Combined silos, then <paramref name="gateways"/> gateway-only processes, each ready (<c>/readyz</c> 200).
    /// </summary>
    public async Task<RelayCluster> StartClusterAsync(int silos, int gateways = 0)
    {
        var cluster = await RelayCluster.StartAsync(siloDll, silos, gateways);
        foreach (var process in cluster.Processes)
        {
            if (process.Verifier != "(not announced)") _verifiers.Add(process.Verifier);
            if (process.Store != "(not announced)") _stores.Add(StoreKind(process.Store));   // a gateway has no store
        }
        return cluster;
    }

    /// <summary>Passes on what the relay logged at Warning or above during the scenario.</summary>
    public void CollectRelayProblems(RelayProcess relay, string scenario)
    {
        foreach (var problem in relay.Problems) Report.Problem($"{scenario}: relay logged: {problem}");
    }

    public static void Progress(string message) => Console.Error.WriteLine($"[{DateTime.Now:HH:mm:ss}] {message}");

    /// <summary>"Sqlite" of "Sqlite at /tmp/..", "Postgres" of "Postgres, schema x of db on host".</summary>
    private static string StoreKind(string announced)
    {
        var end = announced.IndexOfAny([' ', ',']);
        return end < 0 ? announced : announced[..end];
    }
}
