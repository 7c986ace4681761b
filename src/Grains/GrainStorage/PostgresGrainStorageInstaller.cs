namespace NostrRelay.GrainStorage;

/// <summary>
/// Installs the grain storage's schema as the silo starts, before Orleans' ADO.NET storage reads its queries
/// (which it does at the application-services stage).
/// </summary>
internal sealed class PostgresGrainStorageInstaller(string connectionString, string schema) : ILifecycleParticipant<ISiloLifecycle>
{
    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(nameof(PostgresGrainStorageInstaller), ServiceLifecycleStage.RuntimeStorageServices,
            cancellationToken => PostgresGrainStorageSchema.EnsureAsync(connectionString, schema, cancellationToken));
}
