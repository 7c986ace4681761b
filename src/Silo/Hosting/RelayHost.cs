using System.Net;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using NostrRelay.Expiry;
using NostrRelay.Connections;
using NostrRelay.Hosting;
using NostrRelay.Streaming;
using NostrRelay.Silo.Clustering;
using NostrRelay.Silo.Health;
using Orleans.Configuration;

namespace NostrRelay.Silo.Hosting;

/// <summary>
/// One relay process: by <c>Relay:Mode</c>, a silo with the co-hosted WebSocket gateway (the default), a silo
/// alone, or a gateway alone that is an Orleans client of the cluster. Localhost clustering unless
/// <c>Orleans:Clustering:ProviderType</c> names a provider. Configuration: appsettings.json, then environment
/// variables (<c>Relay__Port=8080</c>), then the command line (<c>--Relay:Port=8080</c>).
/// </summary>
internal static class RelayHost
{
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? customize = null)
    {
        ConfigurationFileWatch.PollInsteadOfWatching();
        var builder = WebApplication.CreateBuilder(args);
        var configuration = builder.Configuration;
        var relay = configuration.GetSection("Relay");
        var mode = relay.GetValue("Mode", RelayMode.Combined);

        var host = relay["Host"] ?? "0.0.0.0";
        var port = relay.GetValue("Port", 7777);
        builder.WebHost.UseUrls($"http://{host}:{port}");
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            // Kestrel:Limits (connections, timeouts, sizes) from configuration; ASP.NET binds only endpoints from it.
            configuration.GetSection("Kestrel:Limits").Bind(kestrel.Limits);
        });
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(30));
        builder.Services.AddHostedService<MemoryTrim>();
        RelayTelemetry.Add(builder);

        var orleans = configuration.GetSection("Orleans");
        var clustering = orleans.GetSection("Clustering");
        // Registered first: the clustering tables exist before the silo or client looks for its cluster.
        if (PostgresClusteringSchemaInstaller.Applies(configuration))
            builder.Services.AddHostedService(_ => new PostgresClusteringSchemaInstaller(clustering["ConnectionString"]!));

        var health = builder.Services.AddHealthChecks();
        if (mode == RelayMode.Gateway)
        {
            var calls = new ClusterCallWatch();
            builder.Services.AddSingleton(calls);
            builder.UseOrleansClient(client =>
            {
                client.AddClusterConnectionStatusObserver(calls);
                if (clustering["ProviderType"] is null)
                    client.UseLocalhostClustering(orleans.GetValue("Endpoints:GatewayPort", 30000), ServiceId(orleans), ClusterId(orleans));
                client.Configure<ClientMessagingOptions>(o => o.ResponseTimeout = ResponseTimeout(orleans));
                // Silos that join later are used within seconds, not the default minute.
                client.Configure<GatewayOptions>(o => o.GatewayListRefreshPeriod = TimeSpan.FromSeconds(10));
                // Started before the silos, or cut off for a while: keep trying, readiness says when it is back.
                client.UseConnectionRetryFilter(async (_, cancellationToken) =>
                {
                    await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
                    return true;
                });
            });
        }
        else
        {
            ClusterStoreCheck.Verify(configuration);
            // Registered before UseOrleans: the store opens before the silo starts and closes after it stopped.
            builder.Services.AddEventStore(relay.GetSection("Store"), builder.Environment.ContentRootPath);
            builder.Services.Configure<ExpiryPurgeOptions>(relay.GetSection("ExpiryPurge"));
            builder.Services.Configure<ExpiryPurgeOptions>(o => relay.GetSection("Retention").Bind(o.Retention));
            builder.Services.Configure<NostrRelay.Subscriptions.LiveDeliveryOptions>(relay.GetSection("LiveDelivery"));
            builder.UseOrleans(silo =>
            {
                if (clustering["ProviderType"] is null)
                {
                    silo.UseLocalhostClustering(
                        siloPort: orleans.GetValue("Endpoints:SiloPort", 11111),
                        gatewayPort: orleans.GetValue("Endpoints:GatewayPort", 30000),
                        serviceId: ServiceId(orleans),
                        clusterId: ClusterId(orleans));
                }
                else
                {
                    ConfigureClusterMember(silo, orleans);
                }
                silo.Configure<SiloMessagingOptions>(o => o.ResponseTimeout = ResponseTimeout(orleans));
                silo.AddRelayGrains();
                silo.AddRelayGrainStorage(relay, builder.Environment.ContentRootPath);
                var streams = relay.GetSection("EventLogStreams");
                if (streams.GetValue("Enabled", false))
                {
                    silo.AddEventLogStreams(options => streams.Bind(options));
                    silo.AddRelayGrainStorage(relay, builder.Environment.ContentRootPath, "PubSubStore");
                }
            });
            health.AddCheck<SiloHealthCheck>("silo", tags: [RelayGatewayExtensions.ReadyTag])
                  .AddCheck<StoreHealthCheck>("store", tags: [RelayGatewayExtensions.ReadyTag]);
        }

        // After UseOrleans: the gateway starts once the silo runs and drains its sockets before the silo stops.
        if (mode != RelayMode.Silo) builder.Services.AddNostrRelay(relay);
        customize?.Invoke(builder);

        var app = builder.Build();
        app.MapRelayHealth();
        RelayTelemetry.Map(app);
        if (mode != RelayMode.Silo) app.MapNostrRelay("/");
        return app;
    }

    /// <summary>
    /// A silo of a real cluster. In Kubernetes the downward API gives POD_NAME and POD_IP: the pod's IP is
    /// what other silos and clients dial, and the silo listens on every address of the pod.
    /// </summary>
    private static void ConfigureClusterMember(ISiloBuilder silo, IConfigurationSection orleans)
    {
        silo.Configure<ClusterMembershipOptions>(orleans.GetSection("Membership"));
        if (Environment.GetEnvironmentVariable("POD_NAME") is { Length: > 0 } podName)
            silo.Configure<SiloOptions>(o => o.SiloName = podName);
        if (Environment.GetEnvironmentVariable("POD_IP") is { Length: > 0 } podIp)
        {
            var siloPort = orleans.GetValue("Endpoints:SiloPort", 11111);
            var gatewayPort = orleans.GetValue("Endpoints:GatewayPort", 30000);
            silo.ConfigureEndpoints(IPAddress.Parse(podIp), siloPort, gatewayPort, listenOnAnyHostAddress: true);
        }
    }

    /// <summary>
    /// How long a grain call may go unanswered (<c>Orleans:ResponseTimeout</c>, default 10 s; Orleans' own is
    /// 30 s). A call caught in flight on a silo that dies fails after this, and the client is told to retry:
    /// an append takes milliseconds, so a shorter wait only shortens a failover.
    /// </summary>
    private static TimeSpan ResponseTimeout(IConfigurationSection orleans) => orleans.GetValue("ResponseTimeout", TimeSpan.FromSeconds(10));

    private static string ServiceId(IConfigurationSection orleans) => orleans["ServiceId"] ?? "nostr-relay";
    private static string ClusterId(IConfigurationSection orleans) => orleans["ClusterId"] ?? "local";

    public static async Task RunAsync(WebApplication app)
    {
        await app.StartAsync();
        var mode = app.Configuration.GetSection("Relay").GetValue("Mode", RelayMode.Combined);
        if (mode != RelayMode.Gateway) PrintStore(app);
        var clustering = app.Configuration["Orleans:Clustering:ProviderType"];
        Console.WriteLine(clustering is null
            ? $"Mode: {mode}, localhost cluster"
            : $"Mode: {mode}, cluster {app.Configuration["Orleans:ClusterId"]} through {clustering}");
        foreach (var url in app.Urls)
        {
            var uri = new Uri(url);
            var shown = uri.Host is "0.0.0.0" or "[::]" or "+" or "*" ? "localhost" : uri.Host;
            Console.WriteLine(mode == RelayMode.Silo
                ? $"Silo health endpoints on http://{shown}:{uri.Port}/healthz and /readyz"
                : $"Nostr relay listening on ws://{shown}:{uri.Port}/");
        }
        await app.WaitForShutdownAsync();
    }

    private static void PrintStore(WebApplication app)
    {
        var store = app.Configuration.GetSection("Relay:Store");
        if (string.Equals(store["Type"], "Memory", StringComparison.OrdinalIgnoreCase))
        {
            Console.WriteLine("Event store: Memory (events are lost on exit)");
        }
        else if (string.Equals(store["Type"], "Postgres", StringComparison.OrdinalIgnoreCase))
        {
            var connection = new Npgsql.NpgsqlConnectionStringBuilder(store["ConnectionString"]);
            Console.WriteLine($"Event store: Postgres, schema {store["Schema"] ?? "nostr"} of {connection.Database} on {connection.Host}");
        }
        else if (store["Type"]?.ToLowerInvariant() is "mysql" or "mariadb")
        {
            var connection = new MySqlConnector.MySqlConnectionStringBuilder(store["ConnectionString"] ?? "");
            Console.WriteLine($"Event store: MySql, database {store["Database"] ?? "nostr"} on {connection.Server}");
        }
        else
        {
            var defaultPath = store["Type"]?.ToLowerInvariant() switch { "rocksdb" => "data/relay.rocksdb", "lmdb" => "data/relay.lmdb", _ => "data/relay.db" };
            var path = Path.GetFullPath(store["Path"] ?? defaultPath, app.Environment.ContentRootPath);
            Console.WriteLine($"Event store: {store["Type"] ?? "Sqlite"} at {path}");
        }
    }
}
