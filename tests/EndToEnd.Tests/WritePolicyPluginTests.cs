using NostrRelay.EndToEnd.Tests.Infrastructure;

namespace NostrRelay.EndToEnd.Tests;

/// <summary>
/// strfry's write-policy plugin protocol (docs/plugins.md there): "strfry will send the event (along with some other
/// information like IP address) to the plugin over stdin. The plugin should then decide what to do with it and print
/// out a JSON object containing this decision": <c>id</c>, <c>action</c> (accept, reject or shadowReject) and
/// <c>msg</c>. The plugin here is a small Node script the test writes, deciding by the event's content.
/// </summary>
public sealed class WritePolicyPluginTests(WritePolicyPluginTests.PluginRelay fixture) : IClassFixture<WritePolicyPluginTests.PluginRelay>
{
    [Fact]
    public async Task the_plugin_accepts_rejects_with_its_message_and_shadow_rejects()
    {
        var key = NostrTools.NewSecretKey();
        var pubkey = await fixture.Tools.PublicKeyAsync(key);
        await using var client = await TestClient.ConnectAsync(fixture.Relay.Url);
        var accepted = await fixture.Tools.SignAsync(key, 1, "fine");
        var rejected = await fixture.Tools.SignAsync(key, 1, "reject-me");
        var shadowed = await fixture.Tools.SignAsync(key, 1, "shadow");

        Assert.Equal((true, ""), await client.PublishAsync(accepted));
        Assert.Equal((false, "blocked: plugin says no"), await client.PublishAsync(rejected));
        Assert.Equal((true, ""), await client.PublishAsync(shadowed));
        var stored = await client.QueryAsync("plugin", new { authors = new[] { pubkey } });
        Assert.Equal([accepted.Id], stored.Select(Frames.Id));
    }

    [Fact]
    public async Task the_plugin_is_told_where_the_event_came_from()
    {
        await using var client = await TestClient.ConnectAsync(fixture.Relay.Url);

        var told = await client.PublishAsync(await fixture.Tools.SignAsync(NostrTools.NewSecretKey(), 1, "where-from"));

        Assert.Equal((false, "blocked: new IP4 127.0.0.1 number"), told);
    }

    [Fact]
    public async Task many_events_in_flight_each_get_their_own_answer()
    {
        await using var client = await TestClient.ConnectAsync(fixture.Relay.Url);
        var events = new List<SignedEvent>();
        for (var i = 0; i < 40; i++)
            events.Add(await fixture.Tools.SignAsync(NostrTools.NewSecretKey(), 1, i % 2 == 0 ? $"fine {i}" : "reject-me"));

        foreach (var evt in events) await client.SendAsync($"[\"EVENT\",{evt.Json}]");
        var answers = new Dictionary<string, bool>();
        while (answers.Count < events.Count)
        {
            var ok = await client.ExpectAsync(f => Frames.Is(f, "OK"));
            answers[ok[1].GetString()!] = ok[2].GetBoolean();
        }

        for (var i = 0; i < events.Count; i++) Assert.Equal(i % 2 == 0, answers[events[i].Id]);
    }

    [Fact]
    public async Task an_event_the_plugin_never_answers_is_refused_with_error_after_the_timeout()
    {
        await using var client = await TestClient.ConnectAsync(fixture.Relay.Url);

        var hung = await client.PublishAsync(await fixture.Tools.SignAsync(NostrTools.NewSecretKey(), 1, "hang"));
        var next = await client.PublishAsync(await fixture.Tools.SignAsync(NostrTools.NewSecretKey(), 1, "fine after a hang"));

        Assert.Equal((false, "error: the relay's write policy did not answer in time; try again"), hung);
        Assert.Equal((true, ""), next);
    }

    [Fact]
    public async Task a_plugin_that_dies_fails_its_event_with_error_and_is_started_again()
    {
        await using var client = await TestClient.ConnectAsync(fixture.Relay.Url);

        var crashed = await client.PublishAsync(await fixture.Tools.SignAsync(NostrTools.NewSecretKey(), 1, "crash"));

        Assert.False(crashed.Accepted);
        Assert.StartsWith("error: the relay's write policy", crashed.Message);
        var deadline = DateTime.UtcNow.AddSeconds(10);
        (bool Accepted, string Message) after;
        do after = await client.PublishAsync(await fixture.Tools.SignAsync(NostrTools.NewSecretKey(), 1, "fine after a crash"));
        while (!after.Accepted && after.Message.StartsWith("error:") && DateTime.UtcNow < deadline);
        Assert.Equal((true, ""), after);
    }

    [Fact]
    public async Task a_plugin_that_stops_reading_is_restarted_instead_of_stalling_every_event()
    {
        await using var client = await TestClient.ConnectAsync(fixture.Relay.Url);
        await client.PublishAsync(await fixture.Tools.SignAsync(NostrTools.NewSecretKey(), 1, "stop-reading"));

        // Bigger than a pipe's buffer: the write itself waits for a reader that is gone.
        var big = await client.PublishAsync(await fixture.Tools.SignAsync(NostrTools.NewSecretKey(), 1, new string('x', 90_000)));

        Assert.Equal((false, "error: the relay's write policy did not answer in time; try again"), big);
        var deadline = DateTime.UtcNow.AddSeconds(10);
        (bool Accepted, string Message) after;
        do after = await client.PublishAsync(await fixture.Tools.SignAsync(NostrTools.NewSecretKey(), 1, "fine after a stall"));
        while (!after.Accepted && after.Message.StartsWith("error:") && DateTime.UtcNow < deadline);
        Assert.Equal((true, ""), after);
    }

    [Fact]
    public async Task import_asks_the_plugin_too_and_says_the_source_is_an_import()
    {
        var data = Path.Combine(Path.GetTempPath(), "relay-plugin-import-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(data);
        try
        {
            var lines = new List<string>();
            foreach (var content in new[] { "fine", "reject-me", "where-from", "shadow" })
                lines.Add((await fixture.Tools.SignAsync(NostrTools.NewSecretKey(), 1, content)).Json);

            var imported = await SiloCommand.RunAsync(string.Join('\n', lines) + "\n", "import",
                $"--Relay:Store:Path={Path.Combine(data, "relay.db")}", $"--Relay:Policies:Plugin={fixture.PluginPath}");

            Assert.Equal(0, imported.ExitCode);
            Assert.Contains("4 read, 1 accepted, 0 duplicate, 3 rejected", imported.Errors);
            Assert.Contains("line 2: blocked: plugin says no", imported.Errors);
            Assert.Contains("line 3: blocked: new Import  number", imported.Errors);
            Assert.Contains("line 4: shadow-rejected by the write policy", imported.Errors);
        }
        finally
        {
            Directory.Delete(data, recursive: true);
        }
    }

    public sealed class PluginRelay : IAsyncLifetime
    {
        private readonly string _directory = Path.Combine(Path.GetTempPath(), "relay-plugin-" + Guid.NewGuid().ToString("N")[..8]);

        public RelayServer Relay { get; private set; } = null!;
        public NostrTools Tools { get; } = NostrTools.Start();
        public string PluginPath => Path.Combine(_directory, "policy.mjs");

        public async Task InitializeAsync()
        {
            Directory.CreateDirectory(_directory);
            var plugin = Path.Combine(_directory, "policy.mjs");
            await File.WriteAllTextAsync(plugin, """
                #!/usr/bin/env node
                import { createInterface } from 'node:readline';
                const lines = createInterface({ input: process.stdin, terminal: false });
                lines.on('line', line => {
                  const req = JSON.parse(line);
                  const answer = { id: req.event.id, action: 'accept' };
                  switch (req.event.content) {
                    case 'reject-me': answer.action = 'reject'; answer.msg = 'blocked: plugin says no'; break;
                    case 'shadow': answer.action = 'shadowReject'; break;
                    case 'where-from': answer.action = 'reject'; answer.msg = `blocked: ${req.type} ${req.sourceType} ${req.sourceInfo} ${typeof req.receivedAt}`; break;
                    case 'hang': return;
                    case 'stop-reading': lines.close(); process.stdin.pause(); setInterval(() => {}, 1000); return;
                    case 'crash': process.exit(3);
                  }
                  process.stdout.write(JSON.stringify(answer) + '\n');
                });
                """);
            File.SetUnixFileMode(plugin, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            Relay = await RelayServer.StartAsync($"Relay:Policies:Plugin={plugin}", "Relay:Policies:PluginTimeout=00:00:00.5");
        }

        public async Task DisposeAsync()
        {
            await Relay.DisposeAsync();
            await Tools.DisposeAsync();
            Directory.Delete(_directory, recursive: true);
        }
    }
}
