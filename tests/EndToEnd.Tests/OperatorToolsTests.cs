using Microsoft.Data.Sqlite;
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

    [Fact]
    public async Task export_refuses_a_file_an_older_build_wrote_and_says_how_to_convert_it()
    {
        var data = Path.Combine(Path.GetTempPath(), "relay-export-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(data);
        var file = Path.Combine(data, "relay.db");
        try
        {
            var note = await fixture.Tools.SignAsync(NostrTools.NewSecretKey(), 1, "written by an older build");
            Assert.Equal(0, (await SiloCommand.RunAsync(note.Json + "\n", "import", $"--Relay:Store:Path={file}")).ExitCode);
            await using (var connection = new SqliteConnection($"Data Source={file};Pooling=False"))
            {
                await connection.OpenAsync();
                await using var downgrade = connection.CreateCommand();
                downgrade.CommandText = "UPDATE events SET id = lower(hex(id)), pubkey = lower(hex(pubkey)), stream = lower(hex(stream)); PRAGMA user_version = 4;";
                await downgrade.ExecuteNonQueryAsync();
            }

            var refused = await SiloCommand.RunAsync(null, "export", $"--Relay:Store:Path={file}");
            Assert.Equal(1, refused.ExitCode);
            Assert.Equal("", refused.Output);
            Assert.Contains("export: the database has schema version 4, older than this build's 6; start this build's relay on it once", refused.Errors);
            Assert.DoesNotContain("Unhandled exception", refused.Errors);

            // import opens it for writing, as the relay does, and converts it.
            Assert.Equal(0, (await SiloCommand.RunAsync("", "import", $"--Relay:Store:Path={file}")).ExitCode);
            var exported = await SiloCommand.RunAsync(null, "export", $"--Relay:Store:Path={file}");
            Assert.Equal(0, exported.ExitCode);
            Assert.Equal(note.Id, System.Text.Json.JsonDocument.Parse(exported.Output).RootElement.GetProperty("id").GetString());
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            Directory.Delete(data, recursive: true);
        }
    }

    [Fact]
    public async Task import_beside_the_running_relay_is_refused_and_the_relay_goes_on()
    {
        var relay = await RelayServer.StartAsync();
        try
        {
            var note = await fixture.Tools.SignAsync(NostrTools.NewSecretKey(), 1, "imported beside the relay");
            var refused = await SiloCommand.RunAsync(note.Json + "\n", "import", $"--Relay:Store:Path={Path.Combine(relay.DataDirectory, "relay.db")}");

            Assert.Equal(1, refused.ExitCode);
            Assert.Contains("import: ", refused.Errors);
            Assert.Contains("is being written by another process or store (a running relay, or an import): stop it first", refused.Errors);
            await using var client = await TestClient.ConnectAsync(relay.Url);
            Assert.True((await client.PublishAsync(note)).Accepted);
        }
        finally
        {
            await relay.DisposeAsync();
        }
    }
}
