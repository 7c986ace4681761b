using System.Text.Json;
using System.Text.RegularExpressions;
using Npgsql;
using NostrRelay.Crypto;
using NostrRelay.EndToEnd.Tests.Infrastructure;
using NostrRelay.Silo.Hosting;
using YamlDotNet.RepresentationModel;

namespace NostrRelay.EndToEnd.Tests.Deploy;

/// <summary>
/// deploy/ checked offline against what the relay host reads and needs: <c>Relay__Mode</c> (Silo, Gateway),
/// <c>POD_NAME</c>/<c>POD_IP</c> from the downward API, <c>/healthz</c> and <c>/readyz</c> on <c>Relay__Port</c>,
/// a 30 s shutdown timeout, the event store and ADO.NET clustering on PostgreSQL; and what its image must hold
/// (the dll src/Silo builds, the libsecp256k1 the verifier loads, a non-root user). The Kubernetes manifests are
/// checked as <c>kubectl kustomize</c> renders them; the Compose file and the Dockerfile are parsed. Nothing here
/// needs a cluster or a Docker daemon.
/// </summary>
public sealed class DeployManifestTests
{
    private const int RelayPort = 7777;
    private const int HostShutdownTimeoutSeconds = 30;   // RelayHost sets HostOptions.ShutdownTimeout
    private static readonly string[] ConnectionStringKeys = ["Relay__Store__ConnectionString", "Orleans__Clustering__ConnectionString"];

    private static readonly string DeployDirectory = Path.Combine(RepositoryRoot.Path, "deploy");
    private static readonly Lazy<RenderedObjects> Kubernetes = new(() => new RenderedObjects(Kustomize.Render(Path.Combine(DeployDirectory, "kubernetes"))));

    // ---- Kubernetes (deploy/kubernetes)

    [Fact]
    public void kubernetes_runs_one_silo_workload_of_at_least_two_pods_and_one_gateway_workload()
    {
        var silo = Kubernetes.Value.InMode("Silo");
        Kubernetes.Value.InMode("Gateway");
        Assert.Equal(2, Kubernetes.Value.All.Count(o => o.Text("kind") is "Deployment" or "StatefulSet" or "DaemonSet"));
        var replicas = int.Parse(silo.Workload.Text("spec", "replicas") ?? "1");
        Assert.True(replicas >= 2, $"{silo.Name} has {replicas} replica(s): a killed silo's grains need another silo to move to");
    }

    [Fact]
    public void a_silo_takes_its_name_and_address_from_the_downward_api()
    {
        var silo = Kubernetes.Value.InMode("Silo");
        Assert.Equal("metadata.name", silo.Variable("POD_NAME").ValueFrom?.Text("fieldRef", "fieldPath"));
        Assert.Equal("status.podIP", silo.Variable("POD_IP").ValueFrom?.Text("fieldRef", "fieldPath"));
    }

    [Theory]
    [InlineData("Silo")]
    [InlineData("Gateway")]
    public void readiness_is_readyz_and_liveness_is_healthz_on_the_relay_port(string mode)
    {
        var relay = Kubernetes.Value.InMode(mode);
        AssertHttpProbe(relay, "readinessProbe", "/readyz");
        AssertHttpProbe(relay, "livenessProbe", "/healthz");
        if (relay.Container.At("startupProbe") is not null) AssertHttpProbe(relay, "startupProbe", "/healthz", "/readyz");
        if (relay.Env.TryGetValue("Relay__Port", out var port)) Assert.Equal(RelayPort.ToString(), port.Value);
        Assert.Contains(RelayPort, relay.ContainerPorts);
    }

    [Theory]
    [InlineData("Silo")]
    [InlineData("Gateway")]
    public void prometheus_scrapes_metrics_on_the_relay_port(string mode)
    {
        var relay = Kubernetes.Value.InMode(mode);
        var annotations = relay.Workload.Map("spec", "template", "metadata", "annotations");
        Assert.Equal("true", annotations["prometheus.io/scrape"]);
        Assert.Equal(RelayPort.ToString(), annotations["prometheus.io/port"]);
        Assert.Equal("/metrics", annotations["prometheus.io/path"]);
    }

    [Theory]
    [InlineData("Silo")]
    [InlineData("Gateway")]
    public void the_grace_period_outlasts_the_pre_stop_wait_and_the_hosts_30_second_shutdown(string mode)
    {
        var relay = Kubernetes.Value.InMode(mode);
        var grace = int.Parse(relay.PodSpec.Text("terminationGracePeriodSeconds") ?? "30");   // 30: Kubernetes' default
        var preStop = PreStopSeconds(relay);
        Assert.True(grace > preStop + HostShutdownTimeoutSeconds,
            $"{relay.Name}: terminationGracePeriodSeconds {grace} must exceed preStop {preStop} s + shutdown {HostShutdownTimeoutSeconds} s, " +
            "or SIGKILL cuts the drain short");
    }

    [Fact]
    public void a_disruption_budget_selects_the_silo_pods_and_no_others()
    {
        var silo = Kubernetes.Value.InMode("Silo");
        var gateway = Kubernetes.Value.InMode("Gateway");
        var budgets = Kubernetes.Value.OfKind("PodDisruptionBudget")
            .Where(b => Selects(b.Map("spec", "selector", "matchLabels"), silo.PodLabels)).ToList();
        Assert.True(budgets.Count == 1, $"expected one PodDisruptionBudget selecting {silo.Name}'s pods, found {budgets.Count}");
        var budget = budgets[0];
        Assert.Null(budget.At("spec", "selector", "matchExpressions"));
        Assert.False(Selects(budget.Map("spec", "selector", "matchLabels"), gateway.PodLabels), "the silos' budget also selects gateway pods");
        Assert.True(budget.Text("spec", "maxUnavailable") == "1" || budget.Text("spec", "minAvailable") is not null,
            "the silos' budget should let one silo go at a time (maxUnavailable: 1) or keep a minimum");
    }

    [Fact]
    public void a_service_on_7777_sends_websocket_clients_to_the_gateway_pods_without_affinity()
    {
        var gateway = Kubernetes.Value.InMode("Gateway");
        var silo = Kubernetes.Value.InMode("Silo");
        var services = Kubernetes.Value.OfKind("Service").Where(s => Selects(s.Map("spec", "selector"), gateway.PodLabels)).ToList();
        Assert.True(services.Count == 1, $"expected one Service selecting {gateway.Name}'s pods, found {services.Count}");
        var service = services[0];
        Assert.False(Selects(service.Map("spec", "selector"), silo.PodLabels), "the gateway Service also sends clients to silos");
        var port = service.Items("spec", "ports").SingleOrDefault(p => p.Text("port") == RelayPort.ToString());
        Assert.True(port is not null, $"Service {service.Text("metadata", "name")} has no port {RelayPort}");
        Assert.Equal(RelayPort, gateway.ResolvePort(port.Text("targetPort") ?? port.Text("port")));
        Assert.NotEqual("ClientIP", service.Text("spec", "sessionAffinity"));   // stateless gateways: any one will do
    }

    [Theory]
    [InlineData("Silo")]
    [InlineData("Gateway")]
    public void connection_strings_come_from_a_secret_key_that_is_rendered(string mode)
    {
        var relay = Kubernetes.Value.InMode(mode);
        foreach (var key in ConnectionStringKeys)
        {
            var reference = relay.Variable(key).ValueFrom?.At("secretKeyRef");
            Assert.True(reference is not null, $"{relay.Name}: {key} is not read through a secretKeyRef");
            var value = Kubernetes.Value.SecretValue(reference.Text("name")!, reference.Text("key")!);
            Assert.True(value is not null, $"{relay.Name}: {key} names Secret {reference.Text("name")} key {reference.Text("key")}, which is not rendered");
            Assert.False(string.IsNullOrEmpty(new NpgsqlConnectionStringBuilder(value).Host), $"{key}: the Secret's value names no Host");
        }
        foreach (var (name, env) in relay.Env)
            Assert.False(env.Value?.Contains("password=", StringComparison.OrdinalIgnoreCase) == true, $"{relay.Name}: {name} holds a password in plain sight");
    }

    [Theory]
    [InlineData("Silo")]
    [InlineData("Gateway")]
    public void relay_pods_run_as_non_root_without_a_service_account_token(string mode)
    {
        var relay = Kubernetes.Value.InMode(mode);
        var nonRoot = relay.Container.Text("securityContext", "runAsNonRoot") ?? relay.PodSpec.Text("securityContext", "runAsNonRoot");
        Assert.True(nonRoot == "true", $"{relay.Name}: runAsNonRoot is not true");
        var user = relay.Container.Text("securityContext", "runAsUser") ?? relay.PodSpec.Text("securityContext", "runAsUser");
        Assert.NotEqual("0", user);
        Assert.Equal("false", relay.Container.Text("securityContext", "allowPrivilegeEscalation"));
        Assert.Equal("false", relay.PodSpec.Text("automountServiceAccountToken"));   // the relay never calls the Kubernetes API
    }

    [Theory]
    [InlineData("Silo")]
    [InlineData("Gateway")]
    public void relay_containers_request_cpu_and_memory(string mode)
    {
        var relay = Kubernetes.Value.InMode(mode);
        Assert.False(string.IsNullOrEmpty(relay.Container.Text("resources", "requests", "cpu")), $"{relay.Name} requests no CPU");
        Assert.False(string.IsNullOrEmpty(relay.Container.Text("resources", "requests", "memory")), $"{relay.Name} requests no memory");
    }

    [Fact]
    public void silos_and_gateways_join_one_cluster_whose_membership_is_in_postgres()
    {
        var silo = Kubernetes.Value.InMode("Silo");
        var gateway = Kubernetes.Value.InMode("Gateway");
        foreach (var relay in new[] { silo, gateway })
        {
            Assert.Equal("Postgres", relay.Variable("Relay__Store__Type").Value);
            Assert.Equal("AdoNet", relay.Variable("Orleans__Clustering__ProviderType").Value);
            Assert.Equal("Npgsql", relay.Variable("Orleans__Clustering__Invariant").Value);
            Assert.Equal("nostr-relay", relay.Variable("Orleans__ServiceId").Value);
            Assert.False(string.IsNullOrEmpty(relay.Variable("Orleans__ClusterId").Value), $"{relay.Name} sets no Orleans__ClusterId");
        }
        Assert.Equal(silo.Variable("Orleans__ClusterId").Value, gateway.Variable("Orleans__ClusterId").Value);
        var siloPort = int.Parse(silo.Env.GetValueOrDefault("Orleans__Endpoints__SiloPort")?.Value ?? "11111");
        var gatewayPort = int.Parse(silo.Env.GetValueOrDefault("Orleans__Endpoints__GatewayPort")?.Value ?? "30000");
        Assert.Equal((11111, 30000), (siloPort, gatewayPort));
        Assert.Contains(siloPort, silo.ContainerPorts);
        Assert.Contains(gatewayPort, silo.ContainerPorts);
    }

    [Fact]
    public void the_dev_overlay_points_the_relay_at_the_postgres_it_adds()
    {
        var dev = new RenderedObjects(Kustomize.Render(Path.Combine(DeployDirectory, "kubernetes-dev")));
        var silo = dev.InMode("Silo");
        var reference = silo.Variable("Relay__Store__ConnectionString").ValueFrom?.At("secretKeyRef");
        Assert.NotNull(reference);
        var connection = new NpgsqlConnectionStringBuilder(dev.SecretValue(reference.Text("name")!, reference.Text("key")!));

        var service = dev.Find("Service", connection.Host!);
        Assert.True(service is not null, $"the connection string's Host {connection.Host} is no Service of the overlay");
        Assert.Contains(service.Items("spec", "ports"), p => p.Text("port") == connection.Port.ToString());
        var postgres = dev.All.Where(o => o.Text("kind") is "Deployment" or "StatefulSet")
            .Single(o => Selects(service.Map("spec", "selector"), o.Map("spec", "template", "metadata", "labels")));
        var env = dev.EnvironmentOf(postgres.Items("spec", "template", "spec", "containers")[0]);
        Assert.Equal(connection.Username, env["POSTGRES_USER"].Value);
        Assert.Equal(connection.Database, env["POSTGRES_DB"].Value);
        var password = env["POSTGRES_PASSWORD"].ValueFrom?.At("secretKeyRef");
        Assert.NotNull(password);
        Assert.Equal(connection.Password, dev.SecretValue(password.Text("name")!, password.Text("key")!));
    }

    // ---- Dockerfile (deploy/Dockerfile)

    [Fact]
    public void the_image_runs_the_dll_that_publishing_src_silo_gives()
    {
        var dockerfile = ReadDockerfile();
        var siloDll = typeof(RelayHost).Assembly.GetName().Name + ".dll";
        Assert.Equal(["dotnet", siloDll], JsonSerializer.Deserialize<string[]>(dockerfile.Final.Arguments("ENTRYPOINT").Last()));

        var publish = dockerfile.Stages.SelectMany(s => s.Arguments("RUN").Select(run => (Stage: s, Run: run)))
            .SingleOrDefault(x => Regex.IsMatch(x.Run, @"\bdotnet publish src/Silo\b"));
        Assert.True(publish.Run is not null, "no stage runs `dotnet publish src/Silo`");
        Assert.NotSame(dockerfile.Final, publish.Stage);
        var output = Regex.Match(publish.Run, @"(?:-o|--output)\s+(\S+)").Groups[1].Value;
        Assert.False(string.IsNullOrEmpty(output), "`dotnet publish src/Silo` names no output folder (-o)");

        // The final stage copies that folder to the directory the entrypoint runs in (its dll path is relative).
        var workdir = "/";
        string? copiedTo = null;
        foreach (var instruction in dockerfile.Final.Instructions)
        {
            if (instruction.Keyword == "WORKDIR") workdir = Absolute(instruction.Arguments, workdir);
            if (instruction.Keyword == "COPY" && instruction.Arguments.StartsWith($"--from={publish.Stage.Name} "))
            {
                var words = instruction.Arguments.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                Assert.Equal(Absolute(output, "/"), Absolute(words[^2], "/"));
                copiedTo = Absolute(words[^1], workdir);
            }
        }
        Assert.True(copiedTo is not null, $"the final stage copies nothing from stage {publish.Stage.Name}");
        Assert.Equal(workdir, copiedTo);
    }

    [Fact]
    public void the_image_installs_the_libsecp256k1_the_verifier_loads_and_the_liblmdb_the_lmdb_store_loads_and_runs_as_a_non_root_user()
    {
        var final = ReadDockerfile().Final;
        Assert.StartsWith("mcr.microsoft.com/dotnet/aspnet:10.0", final.From);

        // Debian and Ubuntu name the package after the soname: libsecp256k1.so.1 comes in libsecp256k1-1.
        var soname = NativeSchnorrVerifier.LibraryName[(NativeSchnorrVerifier.LibraryName.LastIndexOf(".so.", StringComparison.Ordinal) + 4)..];
        var package = "libsecp256k1-" + soname;
        Assert.Contains(final.Arguments("RUN"), run => Regex.IsMatch(run, $@"apt-get install\b.*\s{Regex.Escape(package)}(\s|$)"));
        // The Lmdb store's liblmdb.so.0 comes in liblmdb0.
        var lmdb = NostrRelay.Storage.Lmdb.LmdbNative.LibraryName;
        var lmdbPackage = "liblmdb" + lmdb[(lmdb.LastIndexOf(".so.", StringComparison.Ordinal) + 4)..];
        Assert.Contains(final.Arguments("RUN"), run => Regex.IsMatch(run, $@"apt-get install\b.*\s{Regex.Escape(lmdbPackage)}(\s|$)"));

        var user = final.Arguments("USER").LastOrDefault();
        Assert.True(user is not null, "the final stage sets no USER, so the relay would run as root");
        Assert.DoesNotContain(user.Split(':')[0], new[] { "root", "0" });

        var exposed = final.Arguments("EXPOSE").SelectMany(e => e.Split(' ', StringSplitOptions.RemoveEmptyEntries)).Select(p => p.Split('/')[0]);
        Assert.Subset(exposed.ToHashSet(), new HashSet<string> { "7777", "11111", "30000" });
    }

    [Fact]
    public void every_file_the_image_copies_from_the_repository_exists()
    {
        foreach (var stage in ReadDockerfile().Stages)
        {
            foreach (var copy in stage.Arguments("COPY").Where(c => !c.StartsWith("--from=")))
            {
                var words = copy.Split(' ', StringSplitOptions.RemoveEmptyEntries).Where(w => !w.StartsWith("--")).ToArray();
                foreach (var source in words[..^1])
                {
                    var path = Path.Combine(RepositoryRoot.Path, source);
                    Assert.True(File.Exists(path) || Directory.Exists(path), $"deploy/Dockerfile copies {source}, which the repository does not have");
                }
            }
        }
    }

    // ---- Compose (deploy/compose.yaml)

    [Fact]
    public void compose_runs_postgres_two_silos_and_one_gateway_built_from_the_dockerfile()
    {
        var services = ComposeServices();
        var postgres = services["postgres"];
        Assert.StartsWith("postgres:", postgres.Text("image"));
        Assert.NotEmpty(postgres.Items("healthcheck", "test"));

        var silos = services.Where(s => ComposeEnvironment(s.Value).GetValueOrDefault("Relay__Mode") == "Silo").ToList();
        Assert.Equal(2, silos.Sum(s => int.Parse(s.Value.Text("deploy", "replicas") ?? "1")));
        var gateway = Assert.Single(services, s => ComposeEnvironment(s.Value).GetValueOrDefault("Relay__Mode") == "Gateway");
        Assert.Contains(gateway.Value.Items("ports"), p => PublishesRelayPort(p));

        foreach (var (name, service) in silos.Append(gateway))
        {
            var context = Path.Combine(DeployDirectory, service.Text("build", "context") ?? ".");
            var dockerfile = Path.GetFullPath(Path.Combine(context, service.Text("build", "dockerfile") ?? "Dockerfile"));
            Assert.True(dockerfile == Path.Combine(DeployDirectory, "Dockerfile"), $"{name} is built from {dockerfile}, not deploy/Dockerfile");
            Assert.Equal(RepositoryRoot.Path, Path.GetFullPath(context).TrimEnd('/'));
            Assert.Equal("service_healthy", service.Text("depends_on", "postgres", "condition"));
            Assert.True(Seconds(service.Text("stop_grace_period") ?? "10s") > HostShutdownTimeoutSeconds,
                $"{name}: stop_grace_period must exceed the host's {HostShutdownTimeoutSeconds} s shutdown");
        }
    }

    [Fact]
    public void compose_gives_every_relay_process_the_store_and_the_cluster_in_its_postgres()
    {
        var services = ComposeServices();
        var database = ComposeEnvironment(services["postgres"]);
        var relays = services.Where(s => ComposeEnvironment(s.Value).ContainsKey("Relay__Mode")).ToList();
        Assert.NotEmpty(relays);
        foreach (var (name, service) in relays)
        {
            var env = ComposeEnvironment(service);
            Assert.Equal("Postgres", env.GetValueOrDefault("Relay__Store__Type"));
            Assert.Equal("AdoNet", env.GetValueOrDefault("Orleans__Clustering__ProviderType"));
            Assert.Equal("Npgsql", env.GetValueOrDefault("Orleans__Clustering__Invariant"));
            Assert.Equal("nostr-relay", env.GetValueOrDefault("Orleans__ServiceId"));
            Assert.Equal(ComposeEnvironment(relays[0].Value).GetValueOrDefault("Orleans__ClusterId"), env.GetValueOrDefault("Orleans__ClusterId"));
            foreach (var key in ConnectionStringKeys)
            {
                Assert.True(env.TryGetValue(key, out var value), $"{name} sets no {key}");
                var connection = new NpgsqlConnectionStringBuilder(value);
                Assert.True(services.ContainsKey(connection.Host!), $"{name}: {key} points at {connection.Host}, not a service of the file");
                Assert.Equal(database["POSTGRES_USER"], connection.Username);
                Assert.Equal(database["POSTGRES_PASSWORD"], connection.Password);
                Assert.Equal(database["POSTGRES_DB"], connection.Database);
            }
        }
        Assert.False(string.IsNullOrEmpty(ComposeEnvironment(relays[0].Value).GetValueOrDefault("Orleans__ClusterId")));
    }

    // ---- helpers

    private static void AssertHttpProbe(RelayContainer relay, string probe, params string[] paths)
    {
        var get = relay.Container.At(probe, "httpGet");
        Assert.True(get is not null, $"{relay.Name} has no HTTP {probe}");
        Assert.Contains(get.Text("path"), paths);
        Assert.Equal(RelayPort, relay.ResolvePort(get.Text("port")));
    }

    /// <summary>How long a preStop hook waits before SIGTERM: an exec <c>sleep N</c> or the sleep action.</summary>
    private static int PreStopSeconds(RelayContainer relay)
    {
        var preStop = relay.Container.At("lifecycle", "preStop");
        if (preStop is null) return 0;
        if (preStop.Text("sleep", "seconds") is { } seconds) return int.Parse(seconds);
        var command = preStop.Items("exec", "command").Select(c => ((YamlScalarNode)c).Value).ToList();
        Assert.True(command is ["sleep", _], $"{relay.Name}: a preStop hook this test cannot time: {string.Join(' ', command)}");
        return int.Parse(command[1]!);
    }

    /// <summary>A non-empty label selector whose every pair the pod's labels carry.</summary>
    private static bool Selects(IReadOnlyDictionary<string, string?> selector, IReadOnlyDictionary<string, string?> labels) =>
        selector.Count > 0 && selector.All(pair => labels.TryGetValue(pair.Key, out var value) && value == pair.Value);

    private static DockerfileInstructions ReadDockerfile() =>
        DockerfileInstructions.Parse(File.ReadAllText(Path.Combine(DeployDirectory, "Dockerfile")));

    private static string Absolute(string path, string workdir)
    {
        var full = Path.GetFullPath(path, workdir);
        return full.Length > 1 ? full.TrimEnd('/') : full;
    }

    private static Dictionary<string, YamlMappingNode> ComposeServices()
    {
        var compose = Yaml.LoadDocuments(File.ReadAllText(Path.Combine(DeployDirectory, "compose.yaml"))).Single();
        var services = compose.At("services") as YamlMappingNode ?? throw new InvalidOperationException("compose.yaml has no services");
        return services.Children.ToDictionary(s => ((YamlScalarNode)s.Key).Value!, s => (YamlMappingNode)s.Value);
    }

    /// <summary>A Compose service's environment, written as a mapping or as a list of KEY=VALUE.</summary>
    private static Dictionary<string, string?> ComposeEnvironment(YamlNode service)
    {
        if (service.At("environment") is YamlMappingNode) return service.Map("environment").ToDictionary();
        var env = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (var item in service.Items("environment"))
        {
            var text = ((YamlScalarNode)item).Value!;
            var equals = text.IndexOf('=');
            if (equals < 0) env[text] = null;
            else env[text[..equals]] = text[(equals + 1)..];
        }
        return env;
    }

    /// <summary>"7777:7777" or the long form with target and published, for the relay port.</summary>
    private static bool PublishesRelayPort(YamlNode port) =>
        port is YamlScalarNode { Value: { } text }
            ? text.Split(':') is [.., var published, var target] && published == RelayPort.ToString() && target.Split('/')[0] == RelayPort.ToString()
            : port.Text("target") == RelayPort.ToString() && port.Text("published") == RelayPort.ToString();

    private static int Seconds(string duration)
    {
        var match = Regex.Match(duration, @"^(?:(\d+)m)?(?:(\d+)s)?$");
        Assert.True(match.Success && duration.Length > 0, $"cannot read the duration {duration}");
        return (match.Groups[1].Success ? int.Parse(match.Groups[1].Value) * 60 : 0) + (match.Groups[2].Success ? int.Parse(match.Groups[2].Value) : 0);
    }
}
