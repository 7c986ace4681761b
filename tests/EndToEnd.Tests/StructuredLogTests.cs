using System.Text.Json;
using NostrRelay.EndToEnd.Tests.Infrastructure;

namespace NostrRelay.EndToEnd.Tests;

/// <summary>
/// Logs as an operator's collector reads them: ASP.NET Core's JSON console formatter chosen by configuration, with
/// scopes, so a line about a connection carries its id; and at the default level, no line per event.
/// </summary>
[Collection(RelayCollection.Name)]
public sealed class StructuredLogTests(RelayFixture fixture)
{
    [Fact]
    public async Task json_lines_carry_the_connection_in_scope_and_publishing_logs_nothing_per_event()
    {
        var port = FreePort.Next();
        var data = Directory.CreateTempSubdirectory("relay-logs-");
        try
        {
            using var relay = await SiloProcess.StartAsync(
                "--Relay:Host=127.0.0.1", $"--Relay:Port={port}", $"--Relay:Store:Path={Path.Combine(data.FullName, "relay.db")}",
                $"--Orleans:Endpoints:SiloPort={FreePort.Next()}", $"--Orleans:Endpoints:GatewayPort={FreePort.Next()}",
                "--Logging:LogLevel:Default=Information", "--Logging:LogLevel:NostrRelay.Connections=Debug",
                "--Logging:Console:FormatterName=json", "--Logging:Console:FormatterOptions:IncludeScopes=true");
            var url = new Uri($"ws://127.0.0.1:{port}/");
            var key = NostrTools.NewSecretKey();
            var before = relay.Log.Split('\n').Length;
            await using (var client = await TestClient.ConnectAsync(url))
            {
                for (var i = 0; i < 30; i++) Assert.True((await client.PublishAsync(await fixture.Tools.SignAsync(key, 1, $"quiet {i}"))).Accepted);
            }
            var deadline = DateTime.UtcNow.AddSeconds(10);
            string[] lines;
            do
            {
                await Task.Delay(100);
                lines = relay.Log.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            }
            while (!lines.Any(l => l.Contains("\"EventId\":400", StringComparison.Ordinal)) && DateTime.UtcNow < deadline);

            var json = lines.Where(l => l.StartsWith('{')).Select(l => JsonDocument.Parse(l).RootElement).ToList();
            var ended = json.Single(l => l.GetProperty("EventId").GetInt32() == 400);
            var scope = ended.GetProperty("Scopes").EnumerateArray().Single(s => s.TryGetProperty("NostrConnectionId", out _));
            var afterPublishing = lines.Length - before;

            Assert.Equal(ended.GetProperty("State").GetProperty("ConnectionId").GetInt64(), scope.GetProperty("NostrConnectionId").GetInt64());
            Assert.Equal("127.0.0.1", scope.GetProperty("RemoteIp").GetString());
            Assert.Equal("Debug", ended.GetProperty("LogLevel").GetString());
            // The connection's one debug line (it ended), not 30 lines for 30 events.
            Assert.True(afterPublishing <= 3, $"{afterPublishing} lines while publishing 30 events:\n{string.Join('\n', lines.Skip(before))}");
        }
        finally
        {
            data.Delete(recursive: true);
        }
    }
}
