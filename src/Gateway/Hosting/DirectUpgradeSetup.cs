using System.Reflection;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using NostrRelay.Connections;

namespace NostrRelay.Hosting;

/// <summary>
/// Puts <see cref="DirectUpgrades"/> first on every Kestrel endpoint, ahead of TLS where an endpoint has it (so such a
/// connection's first bytes are a TLS hello, and it is handed on), after the endpoint defaults configured before it.
/// </summary>
internal sealed class DirectUpgradeSetup(IServiceProvider services) : IConfigureOptions<KestrelServerOptions>
{
    // Kestrel keeps one endpoint-defaults action and ConfigureEndpointDefaults replaces it; the one configured
    // before this (an embedder's Protocols, connection logging, their own middleware) is read back so it still runs.
    private static readonly PropertyInfo? EndpointDefaults =
        typeof(KestrelServerOptions).GetProperty("EndpointDefaults", BindingFlags.Instance | BindingFlags.NonPublic);

    public void Configure(KestrelServerOptions kestrel)
    {
        var earlier = EndpointDefaults?.GetValue(kestrel) as Action<ListenOptions>;
        DirectUpgrades? upgrades = null;
        kestrel.ConfigureEndpointDefaults(listen =>
        {
            earlier?.Invoke(listen);
            listen.Use(next => connection =>
            {
                upgrades ??= services.GetRequiredService<DirectUpgrades>();
                return upgrades.OnConnectionAsync(connection, next, kestrel.Limits);
            });
        });
    }
}
