using System.Net;
using NostrRelay.Hosting;
using NostrRelay.Storage;

namespace NostrRelay.Silo.Hosting;

/// <summary>
/// The one process: an Orleans silo (localhost clustering unless configured otherwise), the event store
/// and the co-hosted WebSocket gateway. Configuration: appsettings.json, then environment variables
/// (<c>Relay__Port=8080</c>), then the command line (<c>--Relay:Port=8080</c>).
/// </summary>
internal static class RelayHost
{
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? customize = null)
    {
        var builder = WebApplication.CreateBuilder(args);
        var configuration = builder.Configuration;
        var relay = configuration.GetSection("Relay");

        var host = relay["Host"] ?? "0.0.0.0";
        var port = relay.GetValue("Port", 7777);
        builder.WebHost.UseUrls($"http://{host}:{port}");
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.AddServerHeader = false);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(30));

        // Registered before UseOrleans: the store opens before the silo starts and closes after it stopped.
        builder.Services.AddEventStore(relay.GetSection("Store"), builder.Environment.ContentRootPath);

        var orleans = configuration.GetSection("Orleans");
        builder.UseOrleans(silo =>
        {
            if (orleans.GetSection("Clustering")["ProviderType"] is null)
            {
                silo.UseLocalhostClustering(
                    siloPort: orleans.GetValue("Endpoints:SiloPort", 11111),
                    gatewayPort: orleans.GetValue("Endpoints:GatewayPort", 30000),
                    serviceId: orleans["ServiceId"] ?? "nostr-relay",
                    clusterId: orleans["ClusterId"] ?? "local");
            }
            silo.AddRelayGrains();
            silo.AddRelayGrainStorage(relay, builder.Environment.ContentRootPath);
        });

        // After UseOrleans: the gateway starts once the silo runs and drains its sockets before the silo stops.
        builder.Services.AddNostrRelay(relay);
        customize?.Invoke(builder);

        var app = builder.Build();
        app.MapNostrRelay("/");
        return app;
    }

    public static async Task RunAsync(WebApplication app)
    {
        await app.StartAsync();
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("NostrRelay");
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
        else
        {
            var path = Path.GetFullPath(store["Path"] ?? "data/relay.db", app.Environment.ContentRootPath);
            Console.WriteLine($"Event store: Sqlite at {path}");
        }
        foreach (var url in app.Urls)
        {
            var uri = new Uri(url);
            var shown = uri.Host is "0.0.0.0" or "[::]" or "+" or "*" ? "localhost" : uri.Host;
            Console.WriteLine($"Nostr relay listening on ws://{shown}:{uri.Port}/");
        }
        await app.WaitForShutdownAsync();
    }
}
