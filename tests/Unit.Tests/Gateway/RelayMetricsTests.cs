using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using NostrRelay.Framing;
using NostrRelay.Metrics;

namespace NostrRelay.Unit.Tests.Gateway;

/// <summary>
/// The counts made per frame and per delivery are fields the exporter reads when it collects: what a listener
/// collects is what was counted, each message under its own verb.
/// </summary>
public sealed class RelayMetricsTests
{
    [Fact]
    public void messages_bytes_and_live_deliveries_are_collected_as_counted_with_each_verb_its_own_series()
    {
        using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var metrics = new RelayMetrics(services.GetRequiredService<IMeterFactory>());
        foreach (var kind in Enum.GetValues<ClientFrameKind>())
            for (var i = 0; i <= (int)kind; i++) metrics.Message(kind);   // kind number n counted n + 1 times
        metrics.Received(300);
        metrics.Received(45);
        metrics.Sent(1_000);
        metrics.LiveDelivery();
        metrics.LiveDelivery();

        var collected = Collect();

        Assert.Equal(Enum.GetValues<ClientFrameKind>().Length, RelayMetrics.Verbs.Length);
        // Each kind in ClientFrameKind's order, counted one more time than the one before it.
        string[] verbs = ["malformed", "EVENT", "REQ", "CLOSE", "COUNT", "AUTH", "NEG-OPEN", "NEG-MSG", "NEG-CLOSE", "unknown"];
        for (var i = 0; i < verbs.Length; i++) Assert.Equal(i + 1, collected[$"nostr.messages.received verb={verbs[i]}"]);
        Assert.Equal(345, collected["nostr.bytes.received"]);
        Assert.Equal(1_000, collected["nostr.bytes.sent"]);
        Assert.Equal(2, collected["nostr.deliveries.live"]);
    }

    [Fact]
    public void a_verb_nobody_sent_has_no_series_and_the_live_deliveries_start_at_zero()
    {
        using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var metrics = new RelayMetrics(services.GetRequiredService<IMeterFactory>());
        metrics.Message(ClientFrameKind.Req);

        var collected = Collect();

        Assert.Equal(1, collected["nostr.messages.received verb=REQ"]);
        Assert.DoesNotContain(collected.Keys, name => name.StartsWith("nostr.messages.received verb=EVENT", StringComparison.Ordinal));
        Assert.Equal(0, collected["nostr.deliveries.live"]);
    }

    /// <summary>One collection of every observable instrument of the relay's meter, by name and verb.</summary>
    private static Dictionary<string, long> Collect()
    {
        var collected = new Dictionary<string, long>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == RelayMetrics.MeterName) l.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            var name = instrument.Name;
            foreach (var tag in tags) name += $" {tag.Key}={tag.Value}";
            collected[name] = collected.GetValueOrDefault(name) + value;
        });
        listener.Start();
        listener.RecordObservableInstruments();
        return collected;
    }
}
