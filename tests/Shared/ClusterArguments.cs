namespace NostrRelay.Testing;

/// <summary>
/// How the cluster tests and benchmarks run relay processes on loopback: ADO.NET clustering and the event store
/// on one PostgreSQL, one cluster id and store schema per cluster, and failure detection tuned to notice a
/// dead silo in a few seconds, as an operator who wants fast failover would (docs/deploy.md).
/// </summary>
public static class ClusterArguments
{
    public static string[] Common(string connectionString, string clusterId) =>
    [
        "--Orleans:Clustering:ProviderType=AdoNet",
        "--Orleans:Clustering:Invariant=Npgsql",
        $"--Orleans:Clustering:ConnectionString={connectionString}",
        $"--Orleans:ClusterId={clusterId}",
        "--Orleans:Endpoints:AdvertisedIPAddress=127.0.0.1",
        "--Orleans:Membership:ProbeTimeout=00:00:01",
        "--Orleans:Membership:NumMissedProbesLimit=2",
        // A silo joining a cluster whose last member crashed waits until that member's heartbeat is stale.
        "--Orleans:Membership:IAmAliveTablePublishTimeout=00:00:02",
        "--Orleans:Membership:NumMissedTableIAmAliveLimit=2",
        "--Orleans:ResponseTimeout=00:00:05",
        "--Relay:Store:Type=Postgres",
        $"--Relay:Store:ConnectionString={connectionString}",
        $"--Relay:Store:Schema={clusterId}",
    ];
}
