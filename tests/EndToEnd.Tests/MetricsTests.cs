using System.Globalization;
using NostrRelay.EndToEnd.Tests.Infrastructure;

namespace NostrRelay.EndToEnd.Tests;

/// <summary>
/// <c>GET /metrics</c>: the relay's own instruments in Prometheus' text format beside Orleans', ASP.NET Core's and the
/// runtime's, and counters that move by exactly what a client did. A relay process of its own, so no other test's
/// traffic is counted.
/// </summary>
[Collection(RelayCollection.Name)]
public sealed class MetricsTests(RelayFixture fixture)
{
    private static async Task<Dictionary<string, double>> ScrapeAsync(Uri relay)
    {
        using var http = new HttpClient();
        var text = await http.GetStringAsync(new Uri(new Uri($"http://{relay.Authority}/"), "metrics"));
        var samples = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var line in text.Split('\n'))
        {
            if (line.Length == 0 || line[0] == '#') continue;
            var space = line.LastIndexOf(' ');
            // The scope label every sample carries is dropped, so a sample reads as name{its own labels}.
            var name = line[..space];
            foreach (var scope in new[] { "NostrRelay", "NostrRelay.Silo" })
                name = name.Replace($"otel_scope_name=\"{scope}\",", "", StringComparison.Ordinal).Replace($"{{otel_scope_name=\"{scope}\"}}", "", StringComparison.Ordinal);
            samples[name] = double.Parse(line[(space + 1)..], CultureInfo.InvariantCulture);
        }
        return samples;
    }

    [Fact]
    public async Task the_counters_move_by_what_clients_did_and_every_instrument_is_exposed()
    {
        using var deployment = new RelayDeployment();
        using var relay = await deployment.StartAsync();
        var key = NostrTools.NewSecretKey();
        var pubkey = await fixture.Tools.PublicKeyAsync(key);
        var stored = new List<SignedEvent>();
        for (var i = 0; i < 5; i++) stored.Add(await fixture.Tools.SignAsync(key, 1, $"counted {i}"));
        var live = new List<SignedEvent>();
        for (var i = 0; i < 2; i++) live.Add(await fixture.Tools.SignAsync(key, 1, $"live {i}"));

        await using var publisher = await TestClient.ConnectAsync(deployment.Url);
        foreach (var evt in stored) Assert.True((await publisher.PublishAsync(evt)).Accepted);
        Assert.Equal((true, "duplicate: already have this event"), await publisher.PublishAsync(stored[0]));
        Assert.False((await publisher.PublishRawAsync(stored[1].Id, $"[\"EVENT\",{stored[1].Json.Replace("counted 1", "forged")}]")).Accepted);
        await using var subscriber = await TestClient.ConnectAsync(deployment.Url);
        Assert.Equal(5, (await subscriber.QueryAsync("mine", new { authors = new[] { pubkey } })).Count);
        await subscriber.SendAsync(Frames.Req("live", new { authors = new[] { pubkey }, limit = 0 }));
        await subscriber.ExpectAsync(f => Frames.Is(f, "EOSE") && Frames.IsFor(f, "live"));
        foreach (var evt in live) Assert.True((await publisher.PublishAsync(evt)).Accepted);
        for (var i = 0; i < 2; i++) await subscriber.ExpectAsync(f => Frames.Is(f, "EVENT") && Frames.IsFor(f, "live"));

        var metrics = await ScrapeAsync(deployment.Url);

        Assert.Equal(9, metrics["nostr_messages_received_total{verb=\"EVENT\"}"]);
        Assert.Equal(2, metrics["nostr_messages_received_total{verb=\"REQ\"}"]);
        Assert.Equal(7, metrics["nostr_events_answered_total{outcome=\"accepted\"}"]);
        Assert.Equal(1, metrics["nostr_events_answered_total{outcome=\"duplicate\"}"]);
        Assert.Equal(1, metrics["nostr_events_answered_total{outcome=\"invalid\"}"]);
        Assert.Equal(8, metrics["nostr_event_ok_duration_milliseconds_count"]);   // the forged one was refused before its grain
        Assert.Equal(2, metrics["nostr_req_eose_duration_milliseconds_count"]);
        Assert.Equal(4, metrics["nostr_deliveries_live_total"]);   // both REQs stay open: "mine" gets the live events too
        Assert.Equal(2, metrics["nostr_connections_open"]);
        Assert.Equal(2, metrics["nostr_subscriptions_open"]);
        Assert.True(metrics["nostr_bytes_received_bytes_total"] > 9 * 300);
        Assert.True(metrics["nostr_bytes_sent_bytes_total"] > 7 * 300);
        Assert.Contains(metrics.Keys, name => name.StartsWith("orleans_", StringComparison.Ordinal));
        Assert.Contains(metrics.Keys, name => name.StartsWith("dotnet_gc_", StringComparison.Ordinal));
        Assert.Contains(metrics.Keys, name => name.StartsWith("kestrel_", StringComparison.Ordinal));
        Assert.Equal(0, metrics["nostr_slow_consumers_closed_total"]);
        // The silo's: every EVENT that reached the store (the duplicate too; the forged one never did), the REQs'
        // stored-event reads, the batches that took the stored events to the subscription shards.
        Assert.Equal(8, metrics["nostr_store_duration_milliseconds_count{operation=\"save\",store=\"Sqlite\"}"]);
        Assert.Equal(2, metrics["nostr_store_duration_milliseconds_count{operation=\"query\",store=\"Sqlite\"}"]);
        Assert.InRange(metrics["nostr_fanout_batches_total{destination=\"shard\"}"], 1, 7 * 16);
        Assert.Equal(0, metrics["nostr_fanout_queued"]);
        // Every series deploy/grafana's dashboard queries is exposed.
        var dashboard = await File.ReadAllTextAsync(Path.Combine(RepositoryRoot.Path, "deploy", "grafana", "nostr-relay.json"));
        var queried = System.Text.RegularExpressions.Regex.Matches(dashboard, @"\b(?:nostr|orleans|dotnet)_[a-z_]+").Select(m => m.Value).Distinct().ToList();
        Assert.NotEmpty(queried);
        Assert.All(queried, name => Assert.Contains(metrics.Keys, sample => sample == name || sample.StartsWith(name + "{", StringComparison.Ordinal)));
    }
}
