using MySqlConnector;
using NostrRelay.EndToEnd.Tests.Infrastructure;
using NostrRelay.Testing;

namespace NostrRelay.EndToEnd.Tests.Cluster;

/// <summary>
/// MariaDB as a cluster's shared event store: silo processes on one database (membership and grain storage stay on
/// PostgreSQL) see each other's events, live and stored, and an author's stream stays one stream whichever silo
/// its grain runs on.
/// </summary>
[Collection(ClusterProcessCollection.Name)]
public sealed class ClusterMySqlStoreTests : IAsyncLifetime
{
    private readonly NostrTools _tools = NostrTools.Start();
    private readonly string _database = "e2e_" + Guid.NewGuid().ToString("N")[..12];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        await _tools.DisposeAsync();
        await using var connection = new MySqlConnection(TestMySql.ConnectionString);
        await connection.OpenAsync();
        await using var drop = new MySqlCommand($"DROP DATABASE IF EXISTS `{_database}`", connection);
        await drop.ExecuteNonQueryAsync();
    }

    [Fact]
    public async Task silos_sharing_a_mariadb_store_serve_each_others_events_live_and_stored()
    {
        using var cluster = new ClusterDeployment();
        cluster.Settings.AddRange([
            "--Relay:Store:Type=MySql",
            $"--Relay:Store:ConnectionString={TestMySql.ConnectionString}",
            $"--Relay:Store:Database={_database}",
            "--Relay:GrainStorage:Type=Postgres",
            $"--Relay:GrainStorage:ConnectionString={TestPostgres.ConnectionString}",
            $"--Relay:GrainStorage:Schema={cluster.ClusterId}",
        ]);
        var a = await cluster.StartSiloAsync();
        var b = await cluster.StartSiloAsync();
        var alice = NostrTools.NewSecretKey();
        var alicePubkey = await _tools.PublicKeyAsync(alice);
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();

        await using var watcherOnB = await TestClient.ConnectAsync(b.Url);
        await watcherOnB.SendAsync(Frames.Req("live", new { authors = new[] { alicePubkey }, since = now - 60 }));
        await watcherOnB.ExpectAsync(f => Frames.Is(f, "EOSE") && Frames.IsFor(f, "live"));

        // Published through both silos: the author's grain runs on one of them, and its versions stay one sequence.
        await using var aliceOnA = await TestClient.ConnectAsync(a.Url);
        await using var aliceOnB = await TestClient.ConnectAsync(b.Url);
        var notes = new List<string>();
        for (var i = 0; i < 6; i++)
        {
            var note = await _tools.SignAsync(alice, 1, $"note {i}", [["t", "shared"]], createdAt: now - 10 + i);
            Assert.Equal((true, ""), await (i % 2 == 0 ? aliceOnA : aliceOnB).PublishAsync(note));
            notes.Add(note.Id);
        }

        var live = new List<string>();
        for (var i = 0; i < notes.Count; i++)
            live.Add(Frames.Id((await watcherOnB.ExpectAsync(f => Frames.Is(f, "EVENT") && Frames.IsFor(f, "live"), TimeSpan.FromSeconds(15)))[2]));
        Assert.Equal(notes.Order(), live.Order());

        foreach (var node in new[] { a, b })
        {
            await using var reader = await TestClient.ConnectAsync(node.Url);
            var stored = await reader.QueryAsync("stored", new Dictionary<string, object> { ["#t"] = new[] { "shared" }, ["limit"] = 10 });
            Assert.Equal(Enumerable.Reverse(notes), stored.Select(Frames.Id));
        }

        await using var connection = new MySqlConnection(new MySqlConnectionStringBuilder(TestMySql.ConnectionString) { Database = _database }.ConnectionString);
        await connection.OpenAsync();
        await using var versions = new MySqlCommand("SELECT GROUP_CONCAT(version ORDER BY version) FROM events", connection);
        Assert.Equal("1,2,3,4,5,6", await versions.ExecuteScalarAsync());
    }
}
