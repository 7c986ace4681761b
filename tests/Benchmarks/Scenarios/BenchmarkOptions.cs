namespace NostrRelay.Benchmarks.Scenarios;

/// <summary>
/// The command line: scenario names (ingest, queries, live, fanout; all when none; cluster, which needs
/// PostgreSQL, only when named), <c>--quick</c> for a smoke run at a tenth of the sizes and one round,
/// <c>--rounds N</c>, <c>--no-build</c>, <c>--repo PATH</c>, <c>--relay-dll PATH</c>.
/// </summary>
internal sealed class BenchmarkOptions
{
    public static readonly string[] AllScenarios = ["ingest", "queries", "live", "fanout"];

    /// <summary>Scenarios on a cluster of real processes over PostgreSQL; <c>cluster</c> names both.</summary>
    public static readonly string[] ClusterScenarios = ["cluster-sizes", "cluster-failover"];

    public List<string> Scenarios { get; } = [];
    public bool Quick { get; private set; }
    public bool Build { get; private set; } = true;
    public string? Repository { get; private set; }
    public string? RelayDll { get; private set; }

    /// <summary>Rounds per scenario (fresh relay each, except queries: one preload, then rounds of queries); the median is reported.</summary>
    public int Rounds { get; private set; } = 3;

    /// <summary>Connections that publish or query at once (peers were measured with 4).</summary>
    public int Connections => 4;

    public int IngestEvents => Quick ? 2_000 : 20_000;
    public int IngestAuthors => Quick ? 100 : 1_000;
    public int EventsInFlight => 256;
    public int WarmUpEvents => Quick ? 200 : 1_000;

    public int PreloadEvents => Quick ? 10_000 : 100_000;
    public int PreloadAuthors => Quick ? 100 : 1_000;
    public int TaggedPubkeys => Quick ? 100 : 1_000;
    public int QueriesPerShape => Quick ? 500 : 5_000;
    public int WarmUpQueriesPerShape => Quick ? 50 : 200;
    /// <summary>A shape that takes longer than this stops early and says so: the run stays within minutes.</summary>
    public TimeSpan QueryTimeCap => TimeSpan.FromSeconds(30);

    public int Subscribers => Quick ? 50 : 200;
    public int LiveEvents => Quick ? 200 : 1_000;
    /// <summary>
    /// Events published (paced, untimed) before the timed live phase. 2,000 (10 s) lets the JIT finish tiering
    /// up the delivery path: with 200, a quarter of the relay's samples were still in the JIT and the p99
    /// doubled. <c>--live-warm-up N</c> sets it, to measure a cold relay.
    /// </summary>
    public int LiveWarmUpEvents => _liveWarmUpEvents ?? (Quick ? 50 : 2_000);
    private int? _liveWarmUpEvents;
    public int LiveAuthors => 100;
    public int LiveEventsPerSecond => 200;

    /// <summary>cluster-sizes: the numbers of Combined silos measured, each on a fresh cluster every round.</summary>
    public int[] ClusterSizes => [1, 2, 3];

    /// <summary>cluster-failover: publishing lanes (one per surviving gateway and one on the doomed silo) each send this many EVENTs a second.</summary>
    public int FailoverEventsPerSecond => 100;
    public int FailoverAuthorsPerLane => 12;
    public TimeSpan FailoverBeforeKill => TimeSpan.FromSeconds(Quick ? 3 : 5);
    public TimeSpan FailoverAfterKill => TimeSpan.FromSeconds(Quick ? 10 : 15);
    /// <summary>Live subscribers on each surviving gateway (silo 2, silo 3, the gateway-only process).</summary>
    public int FailoverSubscribersPerGateway => Quick ? 3 : 10;

    /// <summary>
    /// How long before its send each failover event is stamped (<c>--failover-backdate SECONDS</c>, default 0:
    /// created_at is the second it is sent, as a client writes it). A client's clock behind, or an event
    /// signed earlier and published now, looks like this; the relay resumes lost subscriptions by created_at.
    /// </summary>
    public int FailoverBackdateSeconds { get; private set; }

    /// <summary>No progress for this long ends a phase as stalled.</summary>
    public TimeSpan StallTimeout => TimeSpan.FromSeconds(15);

    public static BenchmarkOptions Parse(string[] args)
    {
        var options = new BenchmarkOptions();
        for (var i = 0; i < args.Length; i++)
        {
            var arg = args[i];
            switch (arg)
            {
                case "all": options.Scenarios.AddRange(AllScenarios); break;
                case "cluster": options.Scenarios.AddRange(ClusterScenarios); break;
                case "--quick": options.Quick = true; break;
                case "--no-build": options.Build = false; break;
                case "--repo": options.Repository = Value(args, ref i); break;
                case "--relay-dll": options.RelayDll = Path.GetFullPath(Value(args, ref i)); options.Build = false; break;
                case "--live-warm-up":
                    options._liveWarmUpEvents = int.TryParse(Value(args, ref i), out var warm) && warm >= 0 ? warm : throw new ArgumentException($"--live-warm-up needs a number of events.{Environment.NewLine}{Usage}");
                    break;
                case "--failover-backdate":
                    options.FailoverBackdateSeconds = int.TryParse(Value(args, ref i), out var backdate) && backdate >= 0 ? backdate : throw new ArgumentException($"--failover-backdate needs a number of seconds.{Environment.NewLine}{Usage}");
                    break;
                case "--rounds":
                    options.Rounds = int.TryParse(Value(args, ref i), out var rounds) && rounds > 0 ? rounds : throw new ArgumentException($"--rounds needs a positive number.{Environment.NewLine}{Usage}");
                    break;
                case "-h" or "--help": throw new ArgumentException(Usage);
                default:
                    if (Array.IndexOf(AllScenarios, arg) < 0 && Array.IndexOf(ClusterScenarios, arg) < 0) throw new ArgumentException($"unknown argument '{arg}'.{Environment.NewLine}{Usage}");
                    options.Scenarios.Add(arg);
                    break;
            }
        }
        if (options.Scenarios.Count == 0) options.Scenarios.AddRange(AllScenarios);
        if (options.Quick && !args.Contains("--rounds")) options.Rounds = 1;
        var distinct = options.Scenarios.Distinct().ToList();
        options.Scenarios.Clear();
        options.Scenarios.AddRange(distinct);
        return options;
    }

    private static string Value(string[] args, ref int i) =>
        ++i < args.Length ? args[i] : throw new ArgumentException($"{args[i - 1]} needs a value.{Environment.NewLine}{Usage}");

    public const string Usage =
        "usage: dotnet run -c Release --project tests/Benchmarks -- [ingest|queries|live|fanout|all|cluster|cluster-sizes|cluster-failover]... [--rounds N] [--live-warm-up N] [--failover-backdate SECONDS] [--quick] [--no-build] [--repo PATH] [--relay-dll PATH]";
}
