using NostrRelay.Benchmarks.Relay;
using NostrRelay.Benchmarks.Reporting;
using NostrRelay.Benchmarks.Scenarios;
using NostrRelay.Testing;

// Measures the real relay (src/Silo, Release) in its own process the way research/peers-measured.md measured
// strfry, Netstr and nostr-relay: events signed before timing, OK after the relay's commit, client on the
// same cores. Prints markdown table rows for docs/benchmarks.md on stdout, progress on stderr.
// Exit code 0: clean run; 1: problems found (listed under the table); 2: bad arguments or setup.

BenchmarkOptions options;
try
{
    options = BenchmarkOptions.Parse(args);
}
catch (ArgumentException ex)
{
    Console.Error.WriteLine(ex.Message);
    return 2;
}

string siloDll;
string relayCommit;
try
{
    var repository = options.Repository is { } given ? Path.GetFullPath(given) : SiloBuild.FindRepository();
    siloDll = options.RelayDll ?? SiloBuild.DllPath(repository);
    relayCommit = options.RelayDll is null ? SiloBuild.DescribeCommit(repository) : "prebuilt " + options.RelayDll;
    if (options.Build)
    {
        ScenarioContext.Progress("building src/Silo in Release");
        await SiloBuild.BuildAsync(repository);
    }
    if (!File.Exists(siloDll)) throw new InvalidOperationException($"{siloDll} not found: build it (dotnet build -c Release src/Silo) or drop --no-build");
    _ = NativeSchnorrSigner.Shared;   // fails now, not mid-run, when libsecp256k1 is missing
}
catch (InvalidOperationException ex)
{
    Console.Error.WriteLine(ex.Message);
    return 2;
}

var report = new Report();
var context = new ScenarioContext(options, siloDll, report);
var started = DateTime.UtcNow;
foreach (var scenario in options.Scenarios)
{
    try
    {
        switch (scenario)
        {
            case "ingest": await IngestScenario.RunAsync(context); break;
            case "queries": await QueryScenario.RunAsync(context); break;
            case "live": await LiveScenario.RunAsync(context, paced: true); break;
            case "fanout": await LiveScenario.RunAsync(context, paced: false); break;
            case "cluster-sizes": await ClusterSizesScenario.RunAsync(context); break;
            case "cluster-failover": await ClusterFailoverScenario.RunAsync(context); break;
            case "idle-connections": await IdleConnectionsScenario.RunAsync(context); break;
            case "hot-path": await HotPathScenario.RunAsync(context); break;
            case BenchmarkOptions.HostileScenario: await HostileScenario.RunAsync(context); break;
            case BenchmarkOptions.NegentropyScenario: await NegentropyScenario.RunAsync(context); break;
            case BenchmarkOptions.VerifyScenario: await VerifyScenario.RunAsync(context); break;
            case BenchmarkOptions.LogConsumersScenario: await LogConsumersScenario.RunAsync(context); break;
        }
    }
    catch (Exception ex)
    {
        report.Problem($"{scenario} failed: {ex.GetType().Name}: {ex.Message}");
    }
}

report.Note($"relay: {string.Join(", ", context.Stores)} store, signatures verified with {string.Join(", ", context.Verifiers)}; " +
    $"a fresh relay process and store per round (queries: one per scenario; cluster scenarios: a fresh cluster per size and round); run took {(DateTime.UtcNow - started).TotalSeconds:0} s{(options.Quick ? " (--quick: a tenth of the sizes, not for publishing)" : "")}.");
report.Write(Console.Out, MachineInfo.Describe(relayCommit));
return report.Problems.Count == 0 ? 0 : 1;
