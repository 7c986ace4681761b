using NostrRelay.Silo.Hosting;

namespace NostrRelay.EndToEnd.Tests.Cluster;

/// <summary>A silo that would join a cluster on a store only it can see refuses to start, and says what to set.</summary>
public sealed class ClusterConfigurationTests
{
    private static readonly string[] Clustered =
        ["--Orleans:Clustering:ProviderType=AdoNet", "--Orleans:Clustering:Invariant=Npgsql", "--Orleans:Clustering:ConnectionString=Host=127.0.0.1"];

    [Theory]
    [InlineData("--Relay:Store:Type=Sqlite", "Relay:Store:Type=Sqlite")]
    [InlineData("--Relay:Store:Type=RocksDb", "Relay:Store:Type=RocksDb")]
    [InlineData("--Relay:Store:Type=Sharded", "Sharded keeps its ledger in a local file unless Ledger:Type is Postgres")]
    public void a_silo_joining_a_cluster_on_a_local_store_refuses_to_start(string store, string named)
    {
        var refused = Assert.Throws<InvalidOperationException>(() => RelayHost.Build([.. Clustered, store]));
        Assert.Contains(named, refused.Message);
        Assert.Contains("Relay:Store:Type=Postgres", refused.Message);
    }

    [Fact]
    public void a_mirror_on_a_local_file_is_refused_too()
    {
        var refused = Assert.Throws<InvalidOperationException>(() => RelayHost.Build([.. Clustered,
            "--Relay:Store:Type=Mirrored", "--Relay:Store:Primary:Type=Postgres", "--Relay:Store:Mirrors:0:Type=Sqlite"]));
        Assert.Contains("Relay:Store:Mirrors:0:Type=Sqlite", refused.Message);
    }

    [Fact]
    public void bookmarks_beside_a_composed_store_must_be_shared_too()
    {
        var refused = Assert.Throws<InvalidOperationException>(() => RelayHost.Build([.. Clustered,
            "--Relay:Store:Type=Mirrored", "--Relay:Store:Primary:Type=Postgres", "--Relay:Store:Mirrors:0:Type=Postgres"]));
        Assert.Contains("Relay:GrainStorage:Type=Postgres", refused.Message);
    }

    [Fact]
    public async Task the_operator_can_say_a_local_store_is_meant()
    {
        var data = Directory.CreateTempSubdirectory("relay-local-store-");
        try
        {
            await using var app = RelayHost.Build([.. Clustered, "--Relay:Cluster:AllowLocalStore=true", "--Relay:Cluster:InstallSchema=false",
                $"--Relay:Store:Path={Path.Combine(data.FullName, "relay.db")}"]);
            Assert.NotNull(app);   // built, not started: nothing here needs the cluster
        }
        finally
        {
            data.Delete(recursive: true);
        }
    }
}
