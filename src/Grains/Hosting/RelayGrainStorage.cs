using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Configuration;
using NostrRelay.GrainStorage;
using Orleans.Runtime.Hosting;

namespace NostrRelay.Hosting;

/// <summary>
/// The Orleans grain storage the relay's grains keep state in (consumer bookmarks, later settings and ban
/// lists), named "relay" and chosen by <c>Relay:GrainStorage</c>: <c>Sqlite</c> (default: a table in the
/// relay's Sqlite file), <c>Postgres</c> (a table in a PostgreSQL schema every silo shares; <c>ConnectionString</c>,
/// <c>Schema</c>) or <c>Memory</c> (tests; lost on exit). Unset, it follows the event store: the same file as
/// a Sqlite store, the same database and schema as a Postgres store, memory beside a Memory store, a Sqlite file
/// named after another local store's path with <c>.grains.db</c> (a RocksDb directory cannot hold a table), and the
/// Sqlite file <c>data/relay.db</c> otherwise. Author grains keep NIP-62 requests to vanish here.
/// </summary>
public static class RelayGrainStorage
{
    public const string Name = "relay";

    /// <summary>
    /// The "relay" grain storage in PostgreSQL through Orleans' own ADO.NET provider (invariant Npgsql), its table and
    /// queries installed in <paramref name="schema"/> as the silo starts.
    /// </summary>
    public static ISiloBuilder AddPostgresRelayGrainStorage(this ISiloBuilder silo, string connectionString, string schema, string name = Name)
    {
        silo.Services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(new PostgresGrainStorageInstaller(connectionString, schema));
        return silo.AddAdoNetGrainStorage(name, options =>
        {
            options.Invariant = "Npgsql";
            options.ConnectionString = PostgresGrainStorageSchema.ConnectionStringFor(connectionString, schema);
        });
    }

    /// <param name="name">The storage's name: "relay" for the relay's own grains; the event log's streams keep their
    /// explicit subscriptions in one named "PubSubStore" in the same place.</param>
    public static ISiloBuilder AddRelayGrainStorage(this ISiloBuilder silo, IConfigurationSection relay, string contentRoot, string name = Name)
    {
        var section = relay.GetSection("GrainStorage");
        var storeType = relay["Store:Type"];
        var type = section["Type"]
            ?? (string.Equals(storeType, "Memory", StringComparison.OrdinalIgnoreCase) ? "Memory"
                : string.Equals(storeType, "Postgres", StringComparison.OrdinalIgnoreCase) ? "Postgres" : "Sqlite");
        if (string.Equals(type, "Memory", StringComparison.OrdinalIgnoreCase)) return silo.AddMemoryGrainStorage(name);
        if (string.Equals(type, "Postgres", StringComparison.OrdinalIgnoreCase))
        {
            var connectionString = section["ConnectionString"] ?? relay["Store:ConnectionString"]
                ?? throw new InvalidOperationException($"{section.Path}: Postgres grain storage needs a ConnectionString (or a Postgres event store's).");
            var schema = section["Schema"] ?? relay["Store:Schema"] ?? "nostr";
            return silo.AddPostgresRelayGrainStorage(connectionString, schema, name);
        }
        if (!string.Equals(type, "Sqlite", StringComparison.OrdinalIgnoreCase))
            throw new InvalidOperationException($"{section.Path}:Type '{type}' is not known; use Sqlite, Postgres or Memory.");
        // Beside a Sqlite store, its own file; beside another local store (a RocksDb directory), a file next to it.
        var storePath = relay["Store:Path"];
        var besideStore = storePath is null ? null
            : storeType is null || string.Equals(storeType, "Sqlite", StringComparison.OrdinalIgnoreCase) ? storePath
            : storePath.TrimEnd('/', '\\') + ".grains.db";
        var path = Path.GetFullPath(section["Path"] ?? besideStore ?? "data/relay.db", contentRoot);
        // Orleans' own state (stream subscriptions) in Orleans' serializer; the relay's own types in System.Text.Json.
        silo.Services.AddGrainStorage(name, (services, _) =>
            new SqliteGrainStorage(path, name == Name ? null : services.GetRequiredService<Orleans.Storage.IGrainStorageSerializer>()));
        return silo;
    }
}
