using NostrRelay.Benchmarks.Relay;
using NostrRelay.Benchmarks.Reporting;

namespace NostrRelay.Benchmarks.Scenarios;

/// <summary>What every scenario gets: the options, the relay to start and the report to fill.</summary>
internal sealed class ScenarioContext(BenchmarkOptions options, string siloDll, Report report)
{
    private readonly HashSet<string> _verifiers = [];
    private readonly HashSet<string> _stores = [];

    public BenchmarkOptions Options { get; } = options;
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

    /// <summary>Passes on what the relay logged at Warning or above during the scenario.</summary>
    public void CollectRelayProblems(RelayProcess relay, string scenario)
    {
        foreach (var problem in relay.Problems) Report.Problem($"{scenario}: relay logged: {problem}");
    }

    public static void Progress(string message) => Console.Error.WriteLine($"[{DateTime.Now:HH:mm:ss}] {message}");

    private static string StoreKind(string announced)
    {
        var at = announced.IndexOf(" at ", StringComparison.Ordinal);
        return at < 0 ? announced : announced[..at];
    }
}
