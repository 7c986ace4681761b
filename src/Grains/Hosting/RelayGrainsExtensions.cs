using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using NostrRelay.Storage;
using NostrRelay.Storage.Memory;
using NostrRelay.Storage.Postgres;
using NostrRelay.Storage.Sqlite;
using NostrRelay.Subscriptions;

namespace NostrRelay.Hosting;

/// <summary>Registers the relay's grains' services in a silo.</summary>
public static class RelayGrainsExtensions
{
    /// <summary>The silo-local services grains use: live fan-out and the clock.</summary>
    public static ISiloBuilder AddRelayGrains(this ISiloBuilder silo)
    {
        silo.Services.TryAddSingleton(TimeProvider.System);
        silo.Services.TryAddSingleton<LiveFanOut>();
        return silo;
    }

    /// <summary>
    /// Adds the event store named by configuration (<c>Relay:Store:Type</c>). Call before UseOrleans so
    /// the schema exists before the first grain call (hosted services start in registration order).
    /// </summary>
    public static IServiceCollection AddEventStore(this IServiceCollection services, IConfiguration storeSection, string contentRoot)
    {
        var options = new EventStoreOptions();
        storeSection.Bind(options);
        if (string.Equals(options.Type, "Memory", StringComparison.OrdinalIgnoreCase))
            return services.AddEventStore(new MemoryEventStore());
        if (string.Equals(options.Type, "Postgres", StringComparison.OrdinalIgnoreCase))
        {
            if (string.IsNullOrWhiteSpace(options.ConnectionString))
                throw new InvalidOperationException("Relay:Store:Type is Postgres but Relay:Store:ConnectionString is not set.");
            return services.AddEventStore(new PostgresEventStore(
                new PostgresEventStoreOptions { ConnectionString = options.ConnectionString, Schema = options.Schema }));
        }
        if (!string.Equals(options.Type, "Sqlite", StringComparison.OrdinalIgnoreCase))
            throw new InvalidOperationException($"Relay:Store:Type '{options.Type}' is not known; use Sqlite, Postgres or Memory.");
        var path = System.IO.Path.GetFullPath(options.Path, contentRoot);
        return services.AddEventStore(new SqliteEventStore(new SqliteEventStoreOptions { Path = path }));
    }

    /// <summary>Adds a store built in code (an embedder's own, or a test's seeded Memory store).</summary>
    public static IServiceCollection AddEventStore(this IServiceCollection services, IEventStore store)
    {
        services.AddSingleton(store);
        services.AddHostedService<EventStoreLifetime>();
        return services;
    }
}
