using System.Reflection;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using NostrRelay.Connections;

namespace NostrRelay.Hosting;

/// <summary>
/// Puts <see cref="DirectUpgrades"/> first on every plain HTTP/1.1 Kestrel endpoint, after the endpoint defaults
/// configured before it; TLS and HTTP/2-only endpoints keep Kestrel's own handling.
/// </summary>
internal sealed class DirectUpgradeSetup(IServiceProvider services) : IConfigureOptions<KestrelServerOptions>
{
    // Kestrel keeps one endpoint-defaults action and ConfigureEndpointDefaults replaces it; the one configured
    // before this (an embedder's Protocols, connection logging, their own middleware) is read back so it still runs.
    // Should a Kestrel release not have it as this one does, nothing is installed: upgrades go through the pipeline.
    private static readonly PropertyInfo? EndpointDefaults =
        typeof(KestrelServerOptions).GetProperty("EndpointDefaults", BindingFlags.Instance | BindingFlags.NonPublic) is { } property
        && property.PropertyType == typeof(Action<ListenOptions>) ? property : null;

    // Whether an endpoint speaks TLS is known once it is built; a TLS one's first bytes are the TLS hello, held
    // here only until Kestrel's TLS handshake timeout would have closed a silent one.
    private static readonly PropertyInfo? IsTls = typeof(ListenOptions).GetProperty("IsTls", BindingFlags.Instance | BindingFlags.NonPublic);

    public void Configure(KestrelServerOptions kestrel)
    {
        if (EndpointDefaults is null || IsTls is null) return;
        var earlier = (Action<ListenOptions>?)EndpointDefaults.GetValue(kestrel);
        DirectUpgrades? upgrades = null;
        kestrel.ConfigureEndpointDefaults(listen =>
        {
            earlier?.Invoke(listen);
            listen.Use(next =>
            {
                // Built when the endpoint binds: its TLS and protocols are settled by then.
                if (IsTls.GetValue(listen) is not false || (listen.Protocols & HttpProtocols.Http1) == 0) return next;
                return connection =>
                {
                    upgrades ??= services.GetRequiredService<DirectUpgrades>();
                    return upgrades.OnConnectionAsync(connection, next, kestrel.Limits);
                };
            });
        });
    }
}
