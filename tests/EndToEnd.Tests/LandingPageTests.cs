using System.Diagnostics;
using System.Text.Json;
using NostrRelay.EndToEnd.Tests.Infrastructure;

namespace NostrRelay.EndToEnd.Tests;

/// <summary>
/// <c>GET /</c> in a real browser (Debian's chromium through playwright-core, tests/js/landing.mjs): what a person
/// sees of the NIP-11 document, the live figures and how to connect, on a phone and on a desktop. Screenshots are
/// kept under TestResults.
/// </summary>
[Collection(RelayCollection.Name)]
public sealed class LandingPageTests(RelayFixture fixture)
{
    private static async Task<JsonElement> OpenAsync(Uri page)
    {
        var folder = Path.Combine(RepositoryRoot.Path, "TestResults", "landing-page");
        Directory.CreateDirectory(folder);
        var start = new ProcessStartInfo("node")
        {
            WorkingDirectory = Path.Combine(RepositoryRoot.Path, "tests", "js"),
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in new[] { "landing.mjs", page.ToString(), folder }) start.ArgumentList.Add(argument);
        using var node = Process.Start(start)!;
        var output = node.StandardOutput.ReadToEndAsync();
        var errors = node.StandardError.ReadToEndAsync();
        await node.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(90));
        Assert.True(node.ExitCode == 0, await errors);
        Assert.True(File.Exists(Path.Combine(folder, "landing-phone.png")));
        return JsonDocument.Parse(await output).RootElement;
    }

    [Fact]
    public async Task a_person_sees_the_relay_its_nips_linked_to_their_text_its_limits_figures_and_how_to_connect()
    {
        var operatorKey = await fixture.Tools.PublicKeyAsync(NostrTools.NewSecretKey());
        await using var relay = await RelayServer.StartAsync(
            "Relay:Name=Relay <of> tests", "Relay:Description=First paragraph.\n\nSecond & last.", $"Relay:Pubkey={operatorKey}",
            "Relay:Contact=admin@relay.example", "Relay:Icon=javascript:alert(1)", "Relay:PublicUrls:0=wss://relay.example/");
        await using (var client = await TestClient.ConnectAsync(relay.Url))
            for (var i = 0; i < 3; i++) Assert.True((await client.PublishAsync(await fixture.Tools.SignAsync(NostrTools.NewSecretKey(), 1, $"seen {i}"))).Accepted);
        await using var connected = await TestClient.ConnectAsync(relay.Url);
        // A page load never waits for the count of stored events: the first one starts it, later ones show it.
        using (var http = new HttpClient())
        {
            var deadline = DateTime.UtcNow.AddSeconds(10);
            while (!(await http.GetStringAsync(relay.HttpUrl)).Contains("<dt>Events stored</dt><dd>3</dd>", StringComparison.Ordinal) && DateTime.UtcNow < deadline)
                await Task.Delay(100);
        }

        var seen = await OpenAsync(relay.HttpUrl);

        Assert.Equal("Relay <of> tests", seen.GetProperty("title").GetString());
        Assert.Equal("Relay <of> tests", seen.GetProperty("heading").GetString());
        Assert.Equal(["First paragraph.", "Second & last."], seen.GetProperty("description").EnumerateArray().Select(p => p.GetString()));
        Assert.Equal("wss://relay.example/", seen.GetProperty("connect").GetString());
        var nips = seen.GetProperty("nips").EnumerateArray().ToList();
        Assert.Contains(nips, n => n.GetProperty("text").GetString() == "NIP-01" && n.GetProperty("href").GetString() == "https://github.com/nostr-protocol/nips/blob/master/01.md");
        Assert.Contains(nips, n => n.GetProperty("text").GetString() == "NIP-77");
        Assert.Equal(nips.Count, (await InformationDocument.FetchAsync(relay.HttpUrl)).GetProperty("supported_nips").GetArrayLength());
        var figures = seen.GetProperty("figures");
        Assert.Equal("1", figures.GetProperty("Connections").GetString());
        Assert.Equal("3", figures.GetProperty("Events stored").GetString());
        Assert.Equal("262,144", seen.GetProperty("limits").GetProperty("max message length").GetString());
        Assert.Equal(operatorKey, seen.GetProperty("operator").GetProperty("Pubkey").GetString());
        Assert.Equal("admin@relay.example", seen.GetProperty("operator").GetProperty("Contact").GetString());
        Assert.False(seen.GetProperty("scrollsSideways").GetBoolean(), "the phone page scrolls sideways");
        Assert.Equal(0, seen.GetProperty("scripts").GetInt32());
    }
}
