using NostrRelay.Metrics;
using NostrRelay.Auth;
using NostrRelay.Management;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using NostrRelay.Connections;
using NostrRelay.Crypto;
using NostrRelay.Grains;
using NostrRelay.Information;
using NostrRelay.Messages;
using NostrRelay.Policies;

namespace NostrRelay.Hosting;

/// <summary>Adds the WebSocket gateway to a host that has an Orleans silo or client.</summary>
public static partial class RelayGatewayExtensions
{
    /// <summary>
    /// Registers the gateway, bound to the <c>Relay</c> configuration section. Call after UseOrleans /
    /// UseOrleansClient: the gateway then starts after the silo and drains before the silo stops.
    /// </summary>
    public static IServiceCollection AddNostrRelay(this IServiceCollection services, IConfiguration relaySection, Action<RelayOptions>? configure = null)
    {
        services.AddOptions<RelayOptions>().Bind(relaySection).Configure(o => configure?.Invoke(o))
            .Validate(o => o.ShardCheckInterval >= TimeSpan.FromMilliseconds(100) && o.ShardCheckInterval <= TimeSpan.FromMinutes(1),
                "Relay:ShardCheckInterval must be between 00:00:00.1 and 00:01:00")
            .Validate(o => o.Negentropy.FrameSizeLimit >= 4096 && o.Negentropy.MaxRecords > 0 && o.Negentropy.MaxSessions > 0 && o.Negentropy.IdleTimeout > TimeSpan.Zero,
                "Relay:Negentropy needs FrameSizeLimit of at least 4096, and MaxRecords, MaxSessions and IdleTimeout above zero")
            .Validate(o => o.Management.Admins is null || o.Management.Admins.All(admin => Protocol.Hex.IsLowerHex(admin, 64)),
                "Relay:Management:Admins are pubkeys in 64-character lowercase hex")
            .Validate(o => o.Management.RefreshInterval >= TimeSpan.FromMilliseconds(100) && o.Management.RefreshInterval <= TimeSpan.FromMinutes(1),
                "Relay:Management:RefreshInterval must be between 00:00:00.1 and 00:01:00")
            .ValidateOnStart();
        services.TryAddSingleton(sp => SearchSupport.For(sp.GetRequiredService<IOptions<RelayOptions>>().Value, sp.GetService<NostrRelay.Storage.IEventStore>()));
        services.TryAddSingleton(sp => new RelayInformation(sp.GetRequiredService<IOptions<RelayOptions>>().Value, sp.GetRequiredService<SearchSupport>()));
        services.TryAddSingleton<ISchnorrVerifier>(_ => SchnorrVerifier.Default);
        services.TryAddSingleton(sp => new EventVerifier(sp.GetRequiredService<ISchnorrVerifier>()));
        services.AddMetrics();
        services.TryAddSingleton<RelayMetrics>();
        services.TryAddSingleton<RelayModeration>();
        services.AddHostedService(sp => sp.GetRequiredService<RelayModeration>());   // before connections are taken
        services.TryAddSingleton<LocalShardObservers>();
        services.TryAddSingleton<GatewayShards>();
        services.AddHostedService(sp => sp.GetRequiredService<GatewayShards>());
        services.TryAddSingleton(sp => new HttpAuthorization(sp.GetRequiredService<IOptions<RelayOptions>>().Value.Management.Admins,
            new ThisRelay(sp.GetRequiredService<IOptions<RelayOptions>>().Value.PublicUrls), sp.GetRequiredService<EventVerifier>(), sp.GetRequiredService<TimeProvider>()));
        services.TryAddSingleton<ManagementMethods>();
        services.TryAddSingleton<ManagementEndpoint>();
        services.TryAddSingleton(sp => sp.GetRequiredService<IOptions<RelayOptions>>().Value.Limits);
        services.TryAddSingleton<PolicyPipeline>();
        services.TryAddSingleton<WritePolicyPlugin>();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<EventMessageHandler>();
        services.TryAddSingleton<ReqMessageHandler>();
        services.TryAddSingleton<CloseMessageHandler>();
        services.TryAddSingleton<AuthMessageHandler>();
        services.TryAddSingleton<CountMessageHandler>();
        services.TryAddSingleton<NegentropyMessageHandler>();
        services.TryAddSingleton(sp => new NegentropyBudget(sp.GetRequiredService<IOptions<RelayOptions>>().Value.Negentropy.MaxRecordsHeld));
        services.TryAddSingleton<ClientMessages>();
        services.TryAddSingleton<LiveFigures>();
        services.TryAddSingleton(_ => new ClusterCallWatch(watching: false));   // a gateway-only host registers its own, watching its client
        services.TryAddSingleton<RelayEndpoint>();
        services.TryAddSingleton<DirectUpgrades>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IConfigureOptions<KestrelServerOptions>, DirectUpgradeSetup>());
        services.AddHealthChecks().AddCheck<GatewayHealthCheck>("gateway", tags: [ReadyTag]);
        return services;
    }

    /// <summary>Health checks with this tag decide <c>/readyz</c>.</summary>
    public const string ReadyTag = "ready";

    /// <summary>
    /// <c>/healthz</c> answers 200 while the process serves HTTP (liveness); <c>/readyz</c> answers 200 only
    /// when every check tagged <see cref="ReadyTag"/> passes (readiness), else 503.
    /// </summary>
    public static WebApplication MapRelayHealth(this WebApplication app)
    {
        app.MapHealthChecks("/healthz", new HealthCheckOptions { Predicate = _ => false });
        app.MapHealthChecks("/readyz", new HealthCheckOptions { Predicate = check => check.Tags.Contains(ReadyTag) });
        return app;
    }

    /// <summary>Serves WebSocket connections and NIP-11 on one path (default "/").</summary>
    public static IEndpointConventionBuilder MapNostrRelay(this WebApplication app, string path = "/")
    {
        var relay = app.Services.GetRequiredService<IOptions<RelayOptions>>().Value;
        if (relay.TrustedProxies is { Length: > 0 } proxies) app.UseForwardedHeaders(ForwardedFrom(proxies));
        // Before UseWebSockets, which takes the upgrade feature as it finds it.
        app.Use((context, next) =>
        {
            if (context.Features.Get<IHttpUpgradeFeature>() is { IsUpgradableRequest: true } upgrade)
                context.Features.Set<IHttpUpgradeFeature>(new UpgradeWithReason(upgrade));
            return next(context);
        });
        app.UseWebSockets();
        var verifier = app.Services.GetRequiredService<ISchnorrVerifier>();
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("NostrRelay.Gateway");
        LogVerifier(logger, verifier.Name);
        if (relay.PublicUrls is not { Length: > 0 }) LogNoPublicUrls(logger);
        var endpoint = app.Services.GetRequiredService<RelayEndpoint>();
        // A route with parameters is left to routing alone.
        if (relay.DirectWebSocketUpgrade && path.StartsWith('/') && !path.Contains('{'))
            app.Services.GetRequiredService<DirectUpgrades>().RelayPath = path;
        return app.Map(path, endpoint.HandleAsync).WithMetadata(DirectUpgradeEligibility.RelayRoute.Instance);
    }

    /// <summary>X-Forwarded-For (and -Proto) believed from these proxies only; ASP.NET's default trusts loopback, which is dropped.</summary>
    internal static ForwardedHeadersOptions ForwardedFrom(string[] proxies)
    {
        var forwarded = new ForwardedHeadersOptions { ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto };
        forwarded.KnownProxies.Clear();
        forwarded.KnownIPNetworks.Clear();
        foreach (var proxy in proxies)
        {
            if (proxy.Contains('/')) forwarded.KnownIPNetworks.Add(System.Net.IPNetwork.Parse(proxy));
            else forwarded.KnownProxies.Add(System.Net.IPAddress.Parse(proxy));
        }
        return forwarded;
    }

    [LoggerMessage(EventId = 601, Level = LogLevel.Warning, Message = "Relay:PublicUrls is not set: NIP-42 AUTH accepts the relay URL a client's Host header names, so another relay could replay an AUTH its users signed. Set it for a relay others reach")]
    private static partial void LogNoPublicUrls(ILogger logger);

    [LoggerMessage(EventId = 600, Level = LogLevel.Information, Message = "Verifying signatures with {Verifier}")]
    private static partial void LogVerifier(ILogger logger, string verifier);
}
