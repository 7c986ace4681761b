using System.Diagnostics;
using System.Text;
using NostrRelay.EndToEnd.Tests.Infrastructure;

namespace NostrRelay.EndToEnd.Tests;

/// <summary>
/// The operator's <c>sync</c> and <c>stream</c> commands between two relays of this project started by the test:
/// sync reconciles over NIP-77 with this relay's records read from its store, downloads through the running relay's
/// EVENT path and uploads to the other; stream follows the other relay's live events and carries on after it restarts.
/// </summary>
[Collection(RelayCollection.Name)]
public sealed class SyncCommandTests(RelayFixture fixture)
{
    private static string[] Here(RelayServer relay) => [$"--relay", relay.Url.ToString(), $"--Relay:Store:Path={Path.Combine(relay.DataDirectory, "relay.db")}"];

    private async Task<List<SignedEvent>> PublishAsync(RelayServer relay, string key, int count, string label, int kind = 1)
    {
        var events = new List<SignedEvent>();
        for (var i = 0; i < count; i++) events.Add(await fixture.Tools.SignAsync(key, kind, $"{label} {i}"));
        await using var client = await TestClient.ConnectAsync(relay.Url);
        foreach (var evt in events) Assert.Equal((true, ""), await client.PublishAsync(evt));
        return events;
    }

    private static async Task<HashSet<string>> IdsAsync(RelayServer relay, string pubkey)
    {
        await using var client = await TestClient.ConnectAsync(relay.Url);
        return [.. (await client.QueryAsync("all", new { authors = new[] { pubkey }, limit = 5000 })).Select(Frames.Id)];
    }

    [Fact]
    public async Task sync_both_ways_leaves_each_relay_with_every_event_and_says_what_moved()
    {
        await using var here = await RelayServer.StartAsync();
        await using var there = await RelayServer.StartAsync();
        var key = NostrTools.NewSecretKey();
        var onlyHere = await PublishAsync(here, key, 30, "here");
        var onlyThere = await PublishAsync(there, key, 40, "there");
        var shared = await PublishAsync(here, key, 20, "both");
        await using (var client = await TestClient.ConnectAsync(there.Url))
            foreach (var evt in shared) Assert.True((await client.PublishAsync(evt)).Accepted);
        var pubkey = onlyHere[0].Pubkey;

        var run = await SiloCommand.RunAsync(null, ["sync", there.Url.ToString(), "--dir", "both", "--filter", $$"""{"authors":["{{pubkey}}"]}""", .. Here(here)]);
        var again = await SiloCommand.RunAsync(null, ["sync", there.Url.ToString(), "--dir", "both", "--filter", $$"""{"authors":["{{pubkey}}"]}""", .. Here(here)]);

        Assert.True(run.ExitCode == 0, run.Errors);
        Assert.Contains("sync: have 30, need 40; received 40: stored 40, duplicate 0, rejected 0; sent 30: stored 30, duplicate 0, rejected 0", run.Errors);
        var all = onlyHere.Concat(onlyThere).Concat(shared).Select(e => e.Id).ToHashSet();
        Assert.Equal(all, await IdsAsync(here, pubkey));
        Assert.Equal(all, await IdsAsync(there, pubkey));
        Assert.True(again.ExitCode == 0, again.Errors);
        Assert.Contains("sync: have 0, need 0", again.Errors);
    }

    [Fact]
    public async Task sync_downloads_only_by_default_and_only_what_the_filter_names()
    {
        await using var here = await RelayServer.StartAsync();
        await using var there = await RelayServer.StartAsync();
        var key = NostrTools.NewSecretKey();
        var ours = await PublishAsync(here, key, 5, "ours");
        var notes = await PublishAsync(there, key, 6, "note");
        var reactions = await PublishAsync(there, key, 4, "+", kind: 7);
        var pubkey = ours[0].Pubkey;

        var run = await SiloCommand.RunAsync(null, ["sync", there.Url.ToString(), "--filter", $$"""{"authors":["{{pubkey}}"],"kinds":[1]}""", .. Here(here)]);

        Assert.True(run.ExitCode == 0, run.Errors);
        Assert.Equal(ours.Concat(notes).Select(e => e.Id).ToHashSet(), await IdsAsync(here, pubkey));
        Assert.Equal(notes.Concat(reactions).Select(e => e.Id).ToHashSet(), await IdsAsync(there, pubkey));
    }

    [Fact]
    public async Task sync_fails_with_a_reason_when_this_relay_is_not_running_or_the_other_refuses_or_is_gone()
    {
        await using var here = await RelayServer.StartAsync();
        await using var refusing = await RelayServer.StartAsync("Relay:Negentropy:Enabled=false");
        var nowhere = $"ws://127.0.0.1:{FreePort.Next()}/";

        var noRelay = await SiloCommand.RunAsync(null, ["sync", refusing.Url.ToString(), "--relay", nowhere, $"--Relay:Store:Path={Path.Combine(here.DataDirectory, "relay.db")}"]);
        var refused = await SiloCommand.RunAsync(null, ["sync", refusing.Url.ToString(), .. Here(here)]);
        var gone = await SiloCommand.RunAsync(null, ["sync", nowhere, "--dir", "up", "--timeout", "5", .. Here(here)]);
        var badFilter = await SiloCommand.RunAsync(null, ["sync", refusing.Url.ToString(), "--filter", """{"kinds":"x"}""", .. Here(here)]);

        Assert.Equal(1, noRelay.ExitCode);
        Assert.Contains($"no relay is running at {nowhere}", noRelay.Errors);
        Assert.Equal(1, refused.ExitCode);
        Assert.Contains("refused to reconcile: blocked: negentropy syncing (NIP-77) is not enabled on this relay", refused.Errors);
        Assert.Equal(1, gone.ExitCode);
        Assert.Contains($"cannot connect to {nowhere}", gone.Errors);
        Assert.Equal(2, badFilter.ExitCode);
        Assert.Contains("--filter: invalid: kinds", badFilter.Errors);
    }

    [Fact]
    public async Task stream_follows_the_other_relays_new_events_and_carries_on_after_it_restarts()
    {
        await using var here = await RelayServer.StartAsync();
        var thereData = Path.Combine(Path.GetTempPath(), "relay-e2e-" + Guid.NewGuid().ToString("N")[..8]);
        var therePort = FreePort.Next();
        var there = await RelayServer.StartAsync(thereData, therePort, null);
        var key = NostrTools.NewSecretKey();
        var pubkey = await fixture.Tools.PublicKeyAsync(key);
        var (stream, errors, following) = StartStream(["stream", there.Url.ToString(), "--filter", $$"""{"authors":["{{pubkey}}"]}""", .. Here(here)]);
        try
        {
            await following.WaitAsync(TimeSpan.FromSeconds(30));
            var before = await PublishAsync(there, key, 5, "before the restart");
            await WaitForAsync(here, pubkey, before.Select(e => e.Id), errors);

            await there.DisposeAsync();
            there = await RelayServer.StartAsync(thereData, therePort, null);
            var after = await PublishAsync(there, key, 5, "after the restart");
            await WaitForAsync(here, pubkey, before.Concat(after).Select(e => e.Id), errors);

            lock (errors) Assert.Contains("connecting again", errors.ToString());
        }
        finally
        {
            stream.Kill(entireProcessTree: true);
            await stream.WaitForExitAsync();
            stream.Dispose();
            await there.DisposeAsync();
            try { Directory.Delete(thereData, recursive: true); } catch (IOException) { }
        }
    }

    [Fact]
    public async Task stream_up_carries_this_relays_new_events_to_the_other()
    {
        await using var here = await RelayServer.StartAsync();
        await using var there = await RelayServer.StartAsync();
        var key = NostrTools.NewSecretKey();
        var pubkey = await fixture.Tools.PublicKeyAsync(key);
        var (stream, errors, following) = StartStream(["stream", there.Url.ToString(), "--dir", "up", "--filter", $$"""{"authors":["{{pubkey}}"]}""", .. Here(here)]);
        try
        {
            await following.WaitAsync(TimeSpan.FromSeconds(30));
            var published = await PublishAsync(here, key, 5, "going up");
            await WaitForAsync(there, pubkey, published.Select(e => e.Id), errors);
            lock (errors) Assert.Contains("stream up: following", errors.ToString());
        }
        finally
        {
            stream.Kill(entireProcessTree: true);
            await stream.WaitForExitAsync();
            stream.Dispose();
        }
    }

    /// <summary>The relay's stream command as a process: what it writes to stderr, and when it says it is following.</summary>
    private static (Process Process, StringBuilder Errors, Task Following) StartStream(string[] args)
    {
        var errors = new StringBuilder();
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(SiloProcess.SiloDll);
        foreach (var arg in args) start.ArgumentList.Add(arg);
        var stream = Process.Start(start)!;
        var following = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        stream.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (errors) errors.AppendLine(e.Data);
            if (e.Data.Contains("following", StringComparison.Ordinal)) following.TrySetResult();
        };
        stream.BeginErrorReadLine();
        return (stream, errors, following.Task);
    }

    private static async Task WaitForAsync(RelayServer relay, string pubkey, IEnumerable<string> ids, StringBuilder log)
    {
        var expected = ids.ToHashSet();
        var deadline = DateTime.UtcNow.AddSeconds(45);
        HashSet<string> seen;
        do
        {
            seen = await IdsAsync(relay, pubkey);
            if (seen.SetEquals(expected)) return;
            await Task.Delay(200);
        }
        while (DateTime.UtcNow < deadline);
        lock (log) Assert.Fail($"{seen.Count} of {expected.Count} events arrived; the stream said:\n{log}");
    }
}
