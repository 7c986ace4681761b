namespace NostrRelay.Benchmarks.Scenarios;

/// <summary>
/// The command line: scenario names (ingest, queries, live, fanout; all when none; cluster, which needs
/// PostgreSQL, and hostile only when named), <c>--quick</c> for a smoke run at a tenth of the sizes and one round,
/// <c>--rounds N</c>, <c>--no-build</c>, <c>--repo PATH</c>, <c>--relay-dll PATH</c>; for hostile, <c>--peer-url URL
/// --peer-pid N --peer-name NAME</c> to run it on an already-running relay too (strfry), in the same run, and
/// <c>--hostile-depth N</c> for the depth of its deeply nested frames.
/// </summary>
internal sealed class BenchmarkOptions
{
    public static readonly string[] AllScenarios = ["ingest", "queries", "live", "fanout"];

    /// <summary>Scenarios on a cluster of real processes over PostgreSQL; <c>cluster</c> names both.</summary>
    public static readonly string[] ClusterScenarios = ["cluster-sizes", "cluster-failover"];

    /// <summary>Hostile traffic beside an honest client (issue 9); minutes long, so only when named.</summary>
    public const string HostileScenario = "hostile";

    /// <summary>NIP-77 reconciliation against downloading with REQ, and the sync command's throughput; only when named.</summary>
    public const string NegentropyScenario = "negentropy";

    /// <summary>Verifications per second of each signature verifier, in process; only when named.</summary>
    public const string VerifyScenario = "verify";

    /// <summary>The whole event log read by a bookmarked consumer and by an Orleans stream subscriber, in process; only when named.</summary>
    public const string LogConsumersScenario = "log-consumers";
    public const string IdleConnectionsScenario = "idle-connections";
    public const string HotPathScenario = "hot-path";

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

    /// <summary>hostile: attacker connections that send frames and read answers; as many again open subscriptions and stop reading.</summary>
    public int HostileConnections => 4;
    public int HostileSlowConsumers => 4;
    /// <summary>hostile: frames of the weighted mix per attacker connection (special frames come on top).</summary>
    public int HostileFramesPerConnection => Quick ? 400 : 3_000;
    public int HostileMebibyteFrames => Quick ? 2 : 16;
    public int HostileSixteenMebibyteFrames => Quick ? 1 : 4;
    /// <summary>
    /// hostile: depth of the deeply nested frames (<c>--hostile-depth N</c>, default 10,000). The strfry build of
    /// 2026-12-04 dies of a stack overflow on one 10,000-deep array (it survives 2,000): 2000 keeps a comparison running.
    /// </summary>
    public int HostileNestingDepth { get; private set; } = 10_000;
    /// <summary>hostile: stored kind-1 notes of ~1.3 KB that the slow consumers' {} and {limit:5000} read back.</summary>
    public int HostilePreloadEvents => Quick ? 1_000 : 5_000;
    /// <summary>hostile: the honest client's events before the attack (after 50 warm-up), at <see cref="HostileHonestPerSecond"/>.</summary>
    public int HostileUnloadedEvents => Quick ? 100 : 300;
    public int HostileHonestPerSecond => 50;
    public TimeSpan HostileAttackWindow => TimeSpan.FromSeconds(Quick ? 8 : 30);
    /// <summary>hostile: after the attack and the slow consumers' reading, how long to wait before reading RSS again.</summary>
    public TimeSpan HostileQuietPeriod => TimeSpan.FromSeconds(Quick ? 10 : 60);

    /// <summary>hostile: an already-running relay (strfry) measured the same way in the same run, with its process id for CPU and RSS.</summary>
    public Uri? PeerUrl { get; private set; }
    public int? PeerPid { get; private set; }
    public string PeerName { get; private set; } = "peer";

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
                case "--peer-url":
                    options.PeerUrl = Uri.TryCreate(Value(args, ref i), UriKind.Absolute, out var peer) && peer.Scheme is "ws" or "wss" ? peer : throw new ArgumentException($"--peer-url needs a ws:// URL.{Environment.NewLine}{Usage}");
                    break;
                case "--peer-pid":
                    options.PeerPid = int.TryParse(Value(args, ref i), out var pid) && pid > 0 ? pid : throw new ArgumentException($"--peer-pid needs a process id.{Environment.NewLine}{Usage}");
                    break;
                case "--peer-name": options.PeerName = Value(args, ref i); break;
                case "--hostile-depth":
                    options.HostileNestingDepth = int.TryParse(Value(args, ref i), out var depth) && depth > 0 ? depth : throw new ArgumentException($"--hostile-depth needs a positive number.{Environment.NewLine}{Usage}");
                    break;
                case "-h" or "--help": throw new ArgumentException(Usage);
                default:
                    if (Array.IndexOf(AllScenarios, arg) < 0 && Array.IndexOf(ClusterScenarios, arg) < 0 && arg != HostileScenario && arg != NegentropyScenario && arg != VerifyScenario && arg != LogConsumersScenario && arg != IdleConnectionsScenario && arg != HotPathScenario) throw new ArgumentException($"unknown argument '{arg}'.{Environment.NewLine}{Usage}");
                    options.Scenarios.Add(arg);
                    break;
            }
        }
        if (options.Scenarios.Count == 0) options.Scenarios.AddRange(AllScenarios);
        if ((options.PeerUrl is not null || options.PeerPid is not null) && !options.Scenarios.Contains(HostileScenario))
            throw new ArgumentException($"--peer-url and --peer-pid are for the hostile scenario.{Environment.NewLine}{Usage}");
        if (options.PeerPid is not null && options.PeerUrl is null) throw new ArgumentException($"--peer-pid needs --peer-url.{Environment.NewLine}{Usage}");
        if (options.Quick && !args.Contains("--rounds")) options.Rounds = 1;
        var distinct = options.Scenarios.Distinct().ToList();
        options.Scenarios.Clear();
        options.Scenarios.AddRange(distinct);
        return options;
    }

    private static string Value(string[] args, ref int i) =>
        ++i < args.Length ? args[i] : throw new ArgumentException($"{args[i - 1]} needs a value.{Environment.NewLine}{Usage}");

    public const string Usage =
        "usage: dotnet run -c Release --project tests/Benchmarks -- [ingest|queries|live|fanout|all|cluster|cluster-sizes|cluster-failover|hostile|negentropy|verify|log-consumers|idle-connections|hot-path]... [--rounds N] [--live-warm-up N] [--failover-backdate SECONDS] [--quick] [--no-build] [--repo PATH] [--relay-dll PATH] [--peer-url ws://HOST:PORT --peer-pid N --peer-name NAME] [--hostile-depth N]";
}
