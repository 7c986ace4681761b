using NostrRelay.EndToEnd.Tests.Infrastructure;
using NostrRelay.Protocol;
using NostrRelay.Storage.Sqlite;

namespace NostrRelay.EndToEnd.Tests;

/// <summary>The store is chosen by configuration alone, compositions included.</summary>
[Collection(RelayCollection.Name)]
public sealed class StoreConfigurationTests(RelayFixture fixture)
{
    [Fact]
    public async Task a_mirrored_store_from_configuration_writes_every_event_to_both_files()
    {
        var directory = Path.Combine(Path.GetTempPath(), "relay-mirrored-" + Guid.NewGuid().ToString("N")[..8]);
        var primaryPath = Path.Combine(directory, "primary.db");
        var mirrorPath = Path.Combine(directory, "mirror.db");
        var evt = await fixture.Tools.SignAsync(NostrTools.NewSecretKey(), 1, "in both");
        try
        {
            await using (var relay = await RelayServer.StartAsync(
                "Relay:Store:Type=Mirrored",
                "Relay:Store:Primary:Type=Sqlite", $"Relay:Store:Primary:Path={primaryPath}",
                "Relay:Store:Mirrors:0:Type=Sqlite", $"Relay:Store:Mirrors:0:Path={mirrorPath}"))
            {
                await using var client = await TestClient.ConnectAsync(relay.Url);
                Assert.True((await client.PublishAsync(evt)).Accepted);
                Assert.Single(await client.QueryAsync("q", new { ids = new[] { evt.Id } }));
            }

            foreach (var path in new[] { primaryPath, mirrorPath })
            {
                await using var store = new SqliteEventStore(new SqliteEventStoreOptions { Path = path });
                await store.InitAsync();
                var found = new List<string>();
                await foreach (var stored in store.QueryAsync(new Filter { Ids = [evt.Id] })) found.Add(stored.Id);
                Assert.Equal([evt.Id], found);
            }
        }
        finally
        {
            try { Directory.Delete(directory, recursive: true); } catch (IOException) { }
        }
    }
}
