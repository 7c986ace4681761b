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

    /// <summary>The connection string Orleans is given: the relay's, with the schema first on the search path.</summary>
    public static string ConnectionStringFor(string connectionString, string schema) =>
        new NpgsqlConnectionStringBuilder(connectionString) { SearchPath = schema }.ConnectionString;

    public static Task EnsureAsync(string connectionString, string schema, CancellationToken cancellationToken = default) =>
        PostgresScript.RunAsync(ConnectionStringFor(connectionString, schema), Script, LockClass,
            $"CREATE SCHEMA IF NOT EXISTS \"{schema.Replace("\"", "\"\"", StringComparison.Ordinal)}\"", cancellationToken);
}
