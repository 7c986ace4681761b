using System.Diagnostics;
using System.Net.Http.Headers;
using Microsoft.Data.Sqlite;
using NostrRelay.EndToEnd.Tests.Infrastructure;

namespace NostrRelay.EndToEnd.Tests;

/// <summary>
/// samples/EmbeddedRelay, the ASP.NET Core app the README shows: the relay embedded with public API only, with a rule
/// of its own and a store composition of its own (kind 1 in one Sqlite file, every other kind in another), run as
/// its own process the way an embedder runs it.
/// </summary>
[Collection(RelayCollection.Name)]
public sealed class EmbeddedSampleTests(RelayFixture fixture)
{
    [Fact]
    public async Task the_sample_applies_its_own_rule_and_keeps_notes_apart_from_other_kinds()
    {
        var data = Path.Combine(Path.GetTempPath(), "relay-sample-" + Guid.NewGuid().ToString("N")[..8]);
        var port = FreePort.Next();
        var key = NostrTools.NewSecretKey();
        var note = await fixture.Tools.SignAsync(key, 1, "hello from the sample");
        var profile = await fixture.Tools.SignAsync(key, 0, """{"name":"sample"}""");
        var advert = await fixture.Tools.SignAsync(key, 1, "BUY NOW: cheap sats");
        using (var sample = StartSample(data, port))
        {
            try
            {
                await WaitUntilServingAsync(port, sample);
                await using var client = await TestClient.ConnectAsync(new Uri($"ws://127.0.0.1:{port}/"));

                Assert.Equal((true, ""), await client.PublishAsync(note));
                Assert.Equal((true, ""), await client.PublishAsync(profile));
                Assert.Equal((false, "blocked: no ads here"), await client.PublishAsync(advert));
                var stored = await client.QueryAsync("all", new { authors = new[] { note.Pubkey } });
                Assert.Equal(new[] { note.Id, profile.Id }.Order(), stored.Select(Frames.Id).Order());
            }
            finally
            {
                sample.Kill(entireProcessTree: true);
                await sample.WaitForExitAsync();
            }
        }
        try
        {
            Assert.Equal([note.Id], await IdsInAsync(Path.Combine(data, "notes.db")));
            Assert.Equal([profile.Id], await IdsInAsync(Path.Combine(data, "everything-else.db")));
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            Directory.Delete(data, recursive: true);
        }
    }

    private static Process StartSample(string data, int port)
    {
        var configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}") ? "Release" : "Debug";
        var dll = Path.Combine(RepositoryRoot.Path, "samples", "EmbeddedRelay", "bin", configuration, "net10.0", "NostrRelay.Samples.EmbeddedRelay.dll");
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in new[] { dll, "--urls", $"http://127.0.0.1:{port}", "--Data", data,
                     "--SiloPort", FreePort.Next().ToString(), "--GatewayPort", FreePort.Next().ToString(), "--Logging:LogLevel:Default=Warning" })
            start.ArgumentList.Add(arg);
        var process = Process.Start(start)!;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    /// <summary>Polls the NIP-11 document until it answers (the gateway serves once the silo is up).</summary>
    private static async Task WaitUntilServingAsync(int port, Process sample)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        http.DefaultRequestHeaders.Accept.Add(new MediaTypeWithQualityHeaderValue("application/nostr+json"));
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline && !sample.HasExited)
        {
            try
            {
                using var response = await http.GetAsync($"http://127.0.0.1:{port}/");
                if (response.IsSuccessStatusCode) return;
            }
            catch (HttpRequestException) { }
            catch (TaskCanceledException) { }
            await Task.Delay(100);
        }
        throw new InvalidOperationException(sample.HasExited ? $"the sample exited with {sample.ExitCode}" : "the sample did not start serving in 60 s");
    }

    private static async Task<List<string>> IdsInAsync(string path)
    {
        await using var connection = new SqliteConnection($"Data Source={path};Mode=ReadOnly;Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT lower(hex(id)) FROM events ORDER BY id;";
        var ids = new List<string>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync()) ids.Add(reader.GetString(0));
        return ids;
    }
}
