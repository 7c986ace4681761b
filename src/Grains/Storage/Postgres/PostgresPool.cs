using Npgsql;

namespace NostrRelay.Storage.Postgres;

/// <summary>
/// The relay's default for how many PostgreSQL connections each of its pools holds. Npgsql's own is 100 per pool, and
/// PostgreSQL accepts 100 connections by default: a few silos, each with a few pools, would be refused under load.
/// A connection string that names a pool size keeps it.
/// </summary>
internal static class PostgresPool
{
    /// <summary>Sets <paramref name="size"/> as the pool's maximum unless <paramref name="connectionString"/> sets one.</summary>
    public static void DefaultMaxSize(NpgsqlConnectionStringBuilder builder, string connectionString, int size)
    {
        // A plain builder: Npgsql's own reports every keyword it knows as present.
        var given = new System.Data.Common.DbConnectionStringBuilder { ConnectionString = connectionString };
        if (!given.ContainsKey("Maximum Pool Size") && !given.ContainsKey("Max Pool Size") && !given.ContainsKey("MaxPoolSize"))
            builder.MaxPoolSize = size;
    }
}
