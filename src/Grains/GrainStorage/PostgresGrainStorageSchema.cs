using Npgsql;

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

    private static readonly string Script = ReadScript();

    /// <summary>The connection string Orleans is given: the relay's, with the schema first on the search path.</summary>
    public static string ConnectionStringFor(string connectionString, string schema) =>
        new NpgsqlConnectionStringBuilder(connectionString) { SearchPath = schema }.ConnectionString;

    public static async Task EnsureAsync(string connectionString, string schema, CancellationToken cancellationToken = default)
    {
        await using var connection = new NpgsqlConnection(ConnectionStringFor(connectionString, schema));
        await connection.OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using (var takeLock = new NpgsqlCommand($"SELECT pg_advisory_xact_lock({LockClass}, 0)", connection, transaction))
            await takeLock.ExecuteNonQueryAsync(cancellationToken);
        await using (var create = new NpgsqlCommand($"CREATE SCHEMA IF NOT EXISTS \"{schema.Replace("\"", "\"\"", StringComparison.Ordinal)}\"", connection, transaction))
            await create.ExecuteNonQueryAsync(cancellationToken);
        await using (var install = new NpgsqlCommand(Script, connection, transaction))
            await install.ExecuteNonQueryAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
    }

    private static string ReadScript()
    {
        using var stream = typeof(PostgresGrainStorageSchema).Assembly.GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException($"{ResourceName} is not embedded");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
