using NostrRelay.Silo.Clustering;

namespace NostrRelay.Silo.Hosting;

/// <summary>
/// Creates (or updates) the clustering tables and queries in PostgreSQL when the relay clusters through
/// ADO.NET on Npgsql: the Orleans scripts ship in no package, so the relay brings its own and installs them.
/// <c>Relay:Cluster:InstallSchema=false</c> leaves the database to the operator.
/// </summary>
internal sealed class PostgresClusteringSchemaInstaller(string connectionString) : IHostedService
{
    public static bool Applies(IConfiguration configuration) =>
        string.Equals(configuration["Orleans:Clustering:ProviderType"], "AdoNet", StringComparison.OrdinalIgnoreCase)
        && string.Equals(configuration["Orleans:Clustering:Invariant"], "Npgsql", StringComparison.OrdinalIgnoreCase)
        && !string.IsNullOrEmpty(configuration["Orleans:Clustering:ConnectionString"])
        && configuration.GetValue("Relay:Cluster:InstallSchema", true);

    public Task StartAsync(CancellationToken cancellationToken) => PostgresClusteringSchema.EnsureAsync(connectionString, cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
