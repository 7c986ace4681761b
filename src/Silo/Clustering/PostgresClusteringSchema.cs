using NostrRelay.Storage.Postgres;

namespace NostrRelay.Silo.Clustering;

/// <summary>
/// Installs what Orleans' ADO.NET clustering (invariant <c>Npgsql</c>) needs in a PostgreSQL database: the
/// membership tables and the <c>OrleansQuery</c> rows Orleans checks for at start-up. The SQL is the relay's own
/// (PostgresClusteringSchema.sql, embedded): Orleans ships its scripts in no package. Safe to run on every start,
/// from every silo at once; a newer relay replaces the query texts an older one installed.
/// </summary>
internal static class PostgresClusteringSchema
{
    private const string ResourceName = "NostrRelay.Silo.Clustering.PostgresClusteringSchema.sql";

    // CREATE TABLE IF NOT EXISTS is not safe against a twin running at the same moment (both pass the check, one
    // fails on the catalog's unique index), so silos starting together take turns. The lock is per database, not
    // per schema: this runs once per start, and waiting for another schema's run costs milliseconds.
    private const int LockClass = 0x4E_52_43_4C;   // "NRCL"

    private static readonly string Script = PostgresScript.Read(typeof(PostgresClusteringSchema).Assembly, ResourceName);

    /// <summary>
    /// Creates the tables and upserts the queries, in one transaction, in the first schema on the connection's
    /// search path: the one where Orleans, given the same connection string, looks for <c>OrleansQuery</c>.
    /// </summary>
    public static Task EnsureAsync(string connectionString, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        return PostgresScript.RunAsync(connectionString, Script, LockClass, before: null, cancellationToken);
    }
}
