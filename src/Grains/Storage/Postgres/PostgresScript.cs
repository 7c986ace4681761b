using System.Reflection;
using Npgsql;

namespace NostrRelay.Storage.Postgres;

/// <summary>
/// Runs an embedded SQL script that creates what Orleans' ADO.NET providers need (clustering, grain storage): in one
/// transaction, with an advisory lock so silos starting together take turns (CREATE ... IF NOT EXISTS is not safe
/// against a twin running at the same moment).
/// </summary>
internal static class PostgresScript
{
    public static string Read(Assembly assembly, string resourceName)
    {
        using var stream = assembly.GetManifestResourceStream(resourceName)
            ?? throw new InvalidOperationException($"{resourceName} is not embedded in {assembly.GetName().Name}.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    /// <param name="before">A statement to run first under the lock (e.g. creating the schema), or null.</param>
    public static async Task RunAsync(string connectionString, string script, int lockClass, string? before, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using (var takeLock = new NpgsqlCommand($"SELECT pg_advisory_xact_lock({lockClass}, 0)", connection, transaction))
            await takeLock.ExecuteNonQueryAsync(cancellationToken);
        if (before is not null)
            await using (var first = new NpgsqlCommand(before, connection, transaction))
                await first.ExecuteNonQueryAsync(cancellationToken);
        await using (var install = new NpgsqlCommand(script, connection, transaction))
            await install.ExecuteNonQueryAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
    }
}
