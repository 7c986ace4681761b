namespace NostrRelay.Silo.Hosting;

/// <summary>
/// Silos of one cluster must share one event store: an author's grain moves between silos, and a store in a
/// local file would split each author's stream (and every query) over the machines. So a silo that joins a
/// real cluster refuses to start on anything but PostgreSQL or MariaDB, unless <c>Relay:Cluster:AllowLocalStore=true</c>
/// says the operator means it (a throwaway trial, or a store that is shared some other way).
/// </summary>
internal static class ClusterStoreCheck
{
    public static void Verify(IConfiguration configuration)
    {
        if (configuration["Orleans:Clustering:ProviderType"] is null) return;   // one silo on localhost
        if (configuration.GetValue("Relay:Cluster:AllowLocalStore", false)) return;
        var local = FindLocalStore(configuration.GetSection("Relay:Store"));
        if (local is not null)
            throw new InvalidOperationException(
                $"{local} is not shared between silos, and this silo joins a cluster (Orleans:Clustering:ProviderType is set). " +
                "Set Relay:Store:Type=Postgres (or MySql) with Relay:Store:ConnectionString, so every silo reads and writes the same events, " +
                "or Relay:Cluster:AllowLocalStore=true if each silo keeping its own events is what you want.");
        // Grain state (consumer bookmarks) follows a Postgres store by itself; beside a composed store it would
        // fall back to a local Sqlite file, and a consumer grain moving silos would lose its bookmark.
        var grainStorage = configuration["Relay:GrainStorage:Type"]
            ?? (string.Equals(configuration["Relay:Store:Type"], "Postgres", StringComparison.OrdinalIgnoreCase) ? "Postgres" : "Sqlite");
        if (!string.Equals(grainStorage, "Postgres", StringComparison.OrdinalIgnoreCase))
            throw new InvalidOperationException(
                $"Grain storage (consumer bookmarks) would be {grainStorage}, on this silo only, and this silo joins a cluster. " +
                "Set Relay:GrainStorage:Type=Postgres with Relay:GrainStorage:ConnectionString (and Schema), " +
                "or Relay:Cluster:AllowLocalStore=true.");
    }

    /// <summary>The first store in the (possibly composed) configuration that lives on this machine, or null.</summary>
    private static string? FindLocalStore(IConfigurationSection store)
    {
        var type = store["Type"] ?? "Sqlite";
        switch (type.ToLowerInvariant())
        {
            case "postgres":
            case "mysql":
            case "mariadb":
                return null;
            case "mirrored":
                if (FindLocalStore(store.GetSection("Primary")) is { } primary) return primary;
                foreach (var mirror in store.GetSection("Mirrors").GetChildren())
                    if (FindLocalStore(mirror) is { } local) return local;
                return null;
            case "sharded":
                if (!string.Equals(store["Ledger:Type"], "Postgres", StringComparison.OrdinalIgnoreCase))
                    return $"{store.Path} (Sharded keeps its ledger in a local file unless Ledger:Type is Postgres)";
                foreach (var shard in store.GetSection("Shards").GetChildren())
                    if (FindLocalStore(shard.GetSection("Store")) is { } local) return local;
                return null;
            default:
                return $"{store.Path}:Type={type}";
        }
    }
}
