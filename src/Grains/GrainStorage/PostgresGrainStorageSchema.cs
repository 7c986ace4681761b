using Npgsql;
using NostrRelay.Storage.Postgres;

namespace NostrRelay.GrainStorage;

/// <summary>
/// Installs what Orleans' ADO.NET grain storage needs in a PostgreSQL schema (PostgresGrainStorageSchema.sql,
/// embedded): its table and queries, created when missing and the queries replaced by this build's. Safe on every
/// start from every silo at once (they take turns on an advisory lock).
/// </summary>
internal static class PostgresGrainStorageSchema
{
    private const string ResourceName = "NostrRelay.GrainStorage.PostgresGrainStorageSchema.sql";
    private const int LockClass = 0x4E_52_47_53;   // "NRGS"

    private static readonly string Script = PostgresScript.Read(typeof(PostgresGrainStorageSchema).Assembly, ResourceName);

    /// <summary>Connections Orleans' grain storage may hold per silo unless the connection string says otherwise.</summary>
    internal const int DefaultMaxPoolSize = 10;

    /// <summary>
    /// The connection string Orleans is given: the relay's, with the schema first on the search path, and a pool of
    /// <see cref="DefaultMaxPoolSize"/> unless the string sets one. Npgsql's own default is 100 per process: a thousand
    /// author grains activating at once on three silos then ask PostgreSQL (100 connections by default) for up to 300, and
    /// it refuses the rest, failing those activations. Capped, a busy moment waits for a connection instead.
    /// </summary>
    public static string ConnectionStringFor(string connectionString, string schema)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString) { SearchPath = schema };
        PostgresPool.DefaultMaxSize(builder, connectionString, DefaultMaxPoolSize);
        return builder.ConnectionString;
    }

    public static Task EnsureAsync(string connectionString, string schema, CancellationToken cancellationToken = default) =>
        PostgresScript.RunAsync(ConnectionStringFor(connectionString, schema), Script, LockClass,
            $"CREATE SCHEMA IF NOT EXISTS \"{schema.Replace("\"", "\"\"", StringComparison.Ordinal)}\"", cancellationToken);
}
