using System.Diagnostics;
using NostrRelay.Benchmarks.Client;
using NostrRelay.Benchmarks.Relay;
using NostrRelay.Benchmarks.Reporting;
using NostrRelay.Benchmarks.Workload;

namespace NostrRelay.Benchmarks.Scenarios;

/// <summary>
/// Live fan-out: many subscriber connections hold <c>{kinds:[1],since:now}</c> (EOSE seen before publishing
/// starts), then one publisher sends pre-signed events, paced (<c>live</c>) or as fast as its window allows
/// (<c>fanout</c>). Every delivery is checked off per subscriber: each event must arrive exactly once.
/// Latency runs from just before the publisher hands the EVENT to its socket to the moment a subscriber
/// reads it; events are signed before timing, so the send time is kept beside the event (the subscribers
/// are in this process) rather than inside its signed content.
/// </summary>
internal static class LiveScenario
{
    private const int ConnectConcurrency = 16;

    public static async Task RunAsync(ScenarioContext context, bool paced)
    {
        var options = context.Options;
        var report = context.Report;
        var name = paced ? "live" : "fanout";
        var total = options.LiveEvents;
        ScenarioContext.Progress($"{name}: signing {total:N0} events");
        var since = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var authors = Authors.Create(options.LiveAuthors, seed: paced ? 6 : 7);
        var drafts = new EventDraft[total];
        for (var i = 0; i < total; i++) drafts[i] = new EventDraft(i % authors.Count, since, 1, [], $"{name} event {i}: hello, subscribers");
        var events = EventSigning.Sign(authors, drafts);
        var index = new Dictionary<ulong, int>(total);
        for (var i = 0; i < total; i++) index[events[i].Key] = i;
        var sentAt = new long[total];

        await using var relay = await context.StartRelayAsync();
        ScenarioContext.Progress($"{name}: relay pid {relay.Pid} ({relay.Verifier}, {relay.Store}); {options.Subscribers} subscribers");
        using var watchdog = new Watchdog(options.StallTimeout);
        var subscribers = new LiveSubscriber[options.Subscribers];
        RelayClient? publisherClient = null;
        try
        {
            using (var gate = new SemaphoreSlim(ConnectConcurrency))
            {
                var subscribing = new Task[subscribers.Length];
                for (var s = 0; s < subscribers.Length; s++)
                {
                    var slot = s;
                    subscribing[s] = Task.Run(async () =>
                    {
                        await gate.WaitAsync();
                        try
                        {
                            var client = await RelayClient.ConnectAsync(relay.Uri, TimeSpan.FromSeconds(10), watchdog.Token);
                            subscribers[slot] = new LiveSubscriber(client, total, index, sentAt);
                            await subscribers[slot].SubscribeAsync(since, watchdog.Token);
                            watchdog.Tick();
                        }
                        finally
                        {
                            gate.Release();
                        }
                    });
                }
                await Task.WhenAll(subscribing).WaitAsync(TimeSpan.FromSeconds(60));
            }
            publisherClient = await RelayClient.ConnectAsync(relay.Uri, TimeSpan.FromSeconds(10), watchdog.Token);

            ScenarioContext.Progress($"{name}: publishing {total:N0} events {(paced ? $"at {options.LiveEventsPerSecond}/s" : "unpaced")}");
            var relayCpu = relay.CpuTime;
            var ownCpu = ProcessCpu.ReadSelf();
            var receiving = new Task[subscribers.Length];
            for (var s = 0; s < subscribers.Length; s++) receiving[s] = subscribers[s].ReceiveAsync(watchdog);
            var publisher = new LivePublisher(publisherClient, events, index, sentAt, paced ? options.LiveEventsPerSecond : null, options.EventsInFlight);
            var started = Stopwatch.GetTimestamp();
            var publishing = publisher.RunAsync(watchdog);
            try
            {
                await Task.WhenAll(receiving.Append(publishing));
            }
            catch (Exception) when (watchdog.Token.IsCancellationRequested)
            {
            }
            relayCpu = relay.CpuTime - relayCpu;
            ownCpu = ProcessCpu.ReadSelf() - ownCpu;

            var deliveries = subscribers.Sum(s => (long)s.Unique);
            var expected = (long)total * subscribers.Length;
            var duplicates = subscribers.Sum(s => (long)s.Duplicates);
            var lastDelivery = subscribers.Max(s => s.LastDeliveryAt);
            var deliveryWindow = TimeSpan.FromSeconds((double)(lastDelivery - started) / Stopwatch.Frequency);
            var latencies = Latencies.Merge(subscribers.Select(s => s.Latencies));
            var publishSeconds = (double)(publisher.LastSentAt - started) / Stopwatch.Frequency;

            var shape = $"{Report.Count(subscribers.Length)} subscribers";
            if (paced)
            {
                report.Row($"live fan-out, {shape}, {Report.Count(total)} events at {options.LiveEventsPerSecond}/s: delivery p50 / p99", latencies.P50P99());
            }
            else
            {
                report.Row($"live fan-out unpaced, {shape} × {Report.Count(total)} events: deliveries/s", Report.Count(deliveries / deliveryWindow.TotalSeconds));
                report.Row($"same, unpaced: delivery p50 / p99", latencies.P50P99());
            }
            report.Row($"{name}: deliveries missing / duplicate (of {Report.Count(expected)})", $"{Report.Count(expected - deliveries)} / {Report.Count(duplicates)}");
            report.Row($"{name}: relay CPU per delivery", $"{Report.Fixed(relayCpu.TotalMilliseconds * 1000 / Math.Max(deliveries, 1), "0.0")} µs");
            report.Note($"{name}: {Report.Count(total)} events published in {Report.Fixed(publishSeconds, "0.00")} s " +
                $"({Report.Count((total - 1) / Math.Max(publishSeconds, 1e-9))}/s), {publisher.Accepted} OK true; last delivery {Report.Fixed(deliveryWindow.TotalSeconds, "0.00")} s after the first send; " +
                $"relay CPU {Report.Fixed(relayCpu.TotalSeconds, "0.00")} s, load generator CPU {Report.Fixed(ownCpu.TotalSeconds, "0.00")} s.");

            if (watchdog.Stalled) report.Problem($"{name}: stall: no delivery or OK for {options.StallTimeout.TotalSeconds:0} s");
            if (expected != deliveries)
            {
                var short_ = subscribers.Count(s => s.Unique < total);
                report.Problem($"{name}: {Report.Count(expected - deliveries)} deliveries missing, on {short_} of {subscribers.Length} subscribers " +
                    $"(fewest received: {subscribers.Min(s => s.Unique)} of {total})");
            }
            if (duplicates > 0) report.Problem($"{name}: {Report.Count(duplicates)} duplicate deliveries");
            if (publisher.Accepted != total) report.Problem($"{name}: {publisher.Accepted} of {total} events got OK true");
            foreach (var problem in publisher.Problems) report.Problem($"{name} publisher: {problem}");
            foreach (var problem in subscribers.SelectMany(s => s.Problems).Distinct().Take(10)) report.Problem($"{name} subscriber: {problem}");
            foreach (var task in receiving.Append(publishing))
                if (task.Exception?.GetBaseException() is { } failure && failure is not OperationCanceledException)
                {
                    report.Problem($"{name}: a connection failed: {failure.Message}");
                    break;
                }
        }
        finally
        {
            if (publisherClient is not null) await publisherClient.DisposeAsync();
            foreach (var subscriber in subscribers) if (subscriber is not null) await subscriber.DisposeAsync();
        }
        context.CollectRelayProblems(relay, name);
    }
}
