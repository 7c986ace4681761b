using System.Diagnostics;
using System.Text.Json;
using NostrRelay.EndToEnd.Tests.Infrastructure;

namespace NostrRelay.EndToEnd.Tests;

/// <summary>nostr-tools' own Relay client (connect, subscribe, publish, close) works against this relay unchanged.</summary>
[Collection(RelayCollection.Name)]
public sealed class NostrToolsClientTests(RelayFixture fixture)
{
    [Fact]
    public async Task the_nostr_tools_relay_client_publishes_subscribes_and_reads_history()
    {
        var start = new ProcessStartInfo("node", $"relay-client.mjs {fixture.Relay.Url}")
        {
            WorkingDirectory = Path.Combine(RepositoryRoot.Path, "tests", "js"),
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var node = Process.Start(start)!;
        var output = node.StandardOutput.ReadToEndAsync();
        var errors = node.StandardError.ReadToEndAsync();
        await node.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        Assert.True(node.ExitCode == 0, await errors);

        var result = JsonDocument.Parse(await output).RootElement;
        var published = result.GetProperty("published").EnumerateArray().Select(e => e.GetString()).ToArray();
        Assert.Equal(5, published.Length);
        Assert.Empty(result.GetProperty("publishErrors").EnumerateArray());
        Assert.Equal(published, result.GetProperty("live").EnumerateArray().Select(e => e.GetString()));
        Assert.True(result.GetProperty("eoseBeforeLive").GetBoolean());
        Assert.Equal(published.Reverse().Take(3), result.GetProperty("history").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal("newer", result.GetProperty("replaceable").GetString());
        Assert.StartsWith("replaced:", result.GetProperty("rejected").GetString());
    }
}
