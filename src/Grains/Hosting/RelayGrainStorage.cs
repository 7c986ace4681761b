using Microsoft.Extensions.Configuration;
using NostrRelay.GrainStorage;
using Orleans.Runtime.Hosting;

namespace NostrRelay.Hosting;

/// <summary>
/// The Orleans grain storage the relay's grains keep state in (consumer bookmarks, later settings and ban
/// lists), named "relay" and chosen by <c>Relay:GrainStorage</c>: <c>Sqlite</c> (default: a table in the
/// relay's Sqlite file) or <c>Memory</c> (tests; lost on exit). Unset, it follows the event store: the
/// same file as a Sqlite store, memory beside a Memory store.
/// </summary>
public static class RelayGrainStorage
{
    public const string Name = "relay";

    public static ISiloBuilder AddRelayGrainStorage(this ISiloBuilder silo, IConfigurationSection relay, string contentRoot)
    {
        var section = relay.GetSection("GrainStorage");
        var storeIsMemory = string.Equals(relay["Store:Type"], "Memory", StringComparison.OrdinalIgnoreCase);
        var type = section["Type"] ?? (storeIsMemory ? "Memory" : "Sqlite");
        if (string.Equals(type, "Memory", StringComparison.OrdinalIgnoreCase)) return silo.AddMemoryGrainStorage(Name);
        if (!string.Equals(type, "Sqlite", StringComparison.OrdinalIgnoreCase))
            throw new InvalidOperationException($"{section.Path}:Type '{type}' is not known; use Sqlite or Memory.");
        var path = Path.GetFullPath(section["Path"] ?? relay["Store:Path"] ?? "data/relay.db", contentRoot);
        silo.Services.AddGrainStorage(Name, (_, _) => new SqliteGrainStorage(path));
        return silo;
    }
}
