using NostrRelay.EndToEnd.Tests.Infrastructure;

namespace NostrRelay.EndToEnd.Tests;

/// <summary>
/// JSONL export and import from the command line: <c>dotnet run --project src/Silo -- export &gt; all.jsonl</c>
/// and <c>import &lt; all.jsonl</c>. Import verifies every event and reports what it accepted and rejected;
/// a round trip loses nothing.
/// </summary>
[Collection(RelayCollection.Name)]
public sealed class OperatorToolsTests(RelayFixture fixture)
{
    [Fact]
    public async Task export_then_import_into_an_empty_store_loses_nothing_and_bad_lines_are_counted()
    {
        var relay = await RelayServer.StartAsync();
        var target = Path.Combine(relay.DataDirectory, "imported.db");
        try
        {
            var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
            await using (var client = await TestClient.ConnectAsync(relay.Url))
            {
                var sk = NostrTools.NewSecretKey();
                for (var i = 0; i < 30; i++)
                    Assert.True((await client.PublishAsync(await fixture.Tools.SignAsync(NostrTools.NewSecretKey(), 1, $"note {i} ✨", [["t", "export"]]))).Accepted);
                Assert.True((await client.PublishAsync(await fixture.Tools.SignAsync(sk, 0, "{\"name\":\"old\"}", createdAt: now - 10))).Accepted);
                Assert.True((await client.PublishAsync(await fixture.Tools.SignAsync(sk, 0, "{\"name\":\"new\"}", createdAt: now))).Accepted);
                Assert.True((await client.PublishAsync(await fixture.Tools.SignAsync(sk, 30023, "article", [["d", "a"]]))).Accepted);
            }
            await relay.StopAsync();
            var source = Path.Combine(relay.DataDirectory, "relay.db");

            var exported = await SiloCommand.RunAsync(null, "export", $"--Relay:Store:Path={source}");
            var lines = exported.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(0, exported.ExitCode);
            Assert.Equal(32, lines.Length);   // the older profile was replaced

            var tampered = lines[0].Replace("note", "NOTE");
            var imported = await SiloCommand.RunAsync(exported.Output + tampered + "\nnot json\n", "import", $"--Relay:Store:Path={target}");
            Assert.Equal(0, imported.ExitCode);
            Assert.Contains("34 read, 32 accepted, 0 duplicate, 2 rejected", imported.Errors);

            var again = await SiloCommand.RunAsync(null, "export", $"--Relay:Store:Path={target}");
            Assert.Equal(lines.Order(StringComparer.Ordinal), again.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Order(StringComparer.Ordinal));
        }
        finally
        {
            await relay.DisposeAsync();
        }
    }

    [Fact]
    public async Task import_applies_the_moderation_lists_and_expiry_but_not_the_time_limits()
    {
        var data = Path.Combine(Path.GetTempPath(), "relay-import-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(data);
        try
        {
            var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
            var old = await fixture.Tools.SignAsync(NostrTools.NewSecretKey(), 1, "from 2009", createdAt: 1_230_000_000);
            var denied = await fixture.Tools.SignAsync(NostrTools.NewSecretKey(), 4, "a denied kind");
            var expired = await fixture.Tools.SignAsync(NostrTools.NewSecretKey(), 1, "expired", [["expiration", (now - 60).ToString()]]);
            var input = string.Join('\n', old.Json, denied.Json, expired.Json) + "\n";

            var imported = await SiloCommand.RunAsync(input, "import", $"--Relay:Store:Path={Path.Combine(data, "relay.db")}",
                "--Relay:Policies:DeniedKinds:0=4", "--Relay:Limits:CreatedAtLowerLimit=3600");

            Assert.Equal(0, imported.ExitCode);
            Assert.Contains("3 read, 1 accepted, 0 duplicate, 2 rejected", imported.Errors);
            Assert.Contains("line 2: blocked: kind 4 is not accepted here", imported.Errors);
            Assert.Contains("line 3: invalid: event has expired (NIP-40)", imported.Errors);
        }
        finally
        {
            Directory.Delete(data, recursive: true);
        }
    }
}
