using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using NostrRelay.Cluster;
using NostrRelay.Cluster.Interest;
using NostrRelay.Counting;
using NostrRelay.Expiry;
using NostrRelay.Grains;
using NostrRelay.Storage;
using NostrRelay.Subscriptions;

namespace NostrRelay.Hosting;

/// <summary>Registers the relay's grains' services in a silo.</summary>
public static class RelayGrainsExtensions
{
    /// <summary>The silo-local services grains use: live fan-out (within the silo and across the cluster) and the clock.</summary>
    public static ISiloBuilder AddRelayGrains(this ISiloBuilder silo)
    {
        silo.Services.TryAddSingleton(TimeProvider.System);
        silo.Services.AddMetrics();
        silo.Services.TryAddSingleton<NostrRelay.Metrics.SiloMetrics>();
        silo.Services.TryAddSingleton(SiloInterest.ForCluster);
        silo.Services.TryAddSingleton<LiveFanOut>();
        silo.Services.TryAddSingleton<CatchUpReads>();
        silo.Services.TryAddSingleton<ResumeLog>();
        silo.Services.TryAddSingleton<LocalShardObservers>();
        silo.Services.TryAddSingleton<CountReads>();
        silo.Services.AddOptions<ExpiryPurgeOptions>();
        silo.Services.AddOptions<LiveDeliveryOptions>()
            .Validate(o => o.GatherWindow >= TimeSpan.Zero && o.GatherWindow <= LiveDeliveryOptions.LongestGatherWindow,
                $"Relay:LiveDelivery:GatherWindow must be between 0 and {LiveDeliveryOptions.LongestGatherWindow.TotalSeconds} s")
            .ValidateOnStart();
        silo.Services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>, ExpiryPurgeStarter>();
        silo.Services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(sp => sp.GetRequiredService<LiveFanOut>());
        silo.AddPlacementDirector<SiloPinnedPlacement, SiloPinnedPlacementDirector>();
        // Author grains keep NIP-62 requests in the "relay" grain storage. A host that names none (an embedder, a test
        // cluster) gets memory; AddRelayGrainStorage, before or after this, makes it durable (the later one is used).
        if (!silo.Services.Any(d => d.ServiceType == typeof(Orleans.Storage.IGrainStorage) && Equals(d.ServiceKey, RelayGrainStorage.Name)))
            silo.AddMemoryGrainStorage(RelayGrainStorage.Name);
        return silo;
    }

    /// <summary>
    /// Adds the event store named by configuration (<c>Relay:Store:Type</c>). Call before UseOrleans so
    /// the schema exists before the first grain call (hosted services start in registration order).
    /// </summary>
    public static IServiceCollection AddEventStore(this IServiceCollection services, IConfigurationSection storeSection, string contentRoot)
    {
        services.AddSingleton(sp => EventStoreFactory.Create(storeSection, contentRoot, sp.GetService<ILoggerFactory>()));
        services.AddHostedService<EventStoreLifetime>();
        return services;
    }

    /// <summary>Adds a store built in code (an embedder's own, or a test's seeded Memory store).</summary>
    public static IServiceCollection AddEventStore(this IServiceCollection services, IEventStore store)
    {
        services.AddSingleton(store);
        services.AddHostedService<EventStoreLifetime>();
        return services;
    }
}
