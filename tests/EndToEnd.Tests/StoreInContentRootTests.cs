using NostrRelay.EndToEnd.Tests.Infrastructure;

namespace NostrRelay.EndToEnd.Tests;

/// <summary>
/// The default layout, as `dotnet run` and the image run it: the store in data/ under the folder the relay runs in,
/// which is also where ASP.NET looks for appsettings.json. Watching that folder through the kernel would wake the
/// relay on every write to its own database.
/// </summary>
[Collection(RelayCollection.Name)]
public sealed class StoreInContentRootTests(RelayFixture fixture)
{
    [Fact]
    public async Task a_relay_writing_its_default_store_does_not_watch_the_folder_it_writes()
    {
        var port = FreePort.Next();
        var root = Directory.CreateTempSubdirectory("relay-content-root-");
        try
        {
            using var relay = await SiloProcess.StartAsync(SiloProcess.SiloDll, root.FullName,
                ["--Relay:Host=127.0.0.1", $"--Relay:Port={port}",
                 $"--Orleans:Endpoints:SiloPort={FreePort.Next()}", $"--Orleans:Endpoints:GatewayPort={FreePort.Next()}"]);
            var key = NostrTools.NewSecretKey();
            await using (var client = await TestClient.ConnectAsync(new Uri($"ws://127.0.0.1:{port}/")))
            {
                for (var i = 0; i < 20; i++) Assert.True((await client.PublishAsync(await fixture.Tools.SignAsync(key, 1, $"in the content root {i}"))).Accepted);
            }

            Assert.True(File.Exists(Path.Combine(root.FullName, "data", "relay.db")), "the store is not where the default puts it");
            Assert.Equal(0, InotifyWatches(relay.Id));
        }
        finally
        {
            root.Delete(recursive: true);
        }
    }

    /// <summary>The inotify watches a process holds: one "inotify wd:" line per watched folder in its fds' info.</summary>
    private static int InotifyWatches(int pid)
    {
        var watches = 0;
        foreach (var info in Directory.EnumerateFiles($"/proc/{pid}/fdinfo"))
        {
            try
            {
                foreach (var line in File.ReadLines(info))
                    if (line.StartsWith("inotify wd:", StringComparison.Ordinal)) watches++;
            }
            catch (IOException)
            {
                // an fd closed while being read
            }
        }
        return watches;
    }
}
