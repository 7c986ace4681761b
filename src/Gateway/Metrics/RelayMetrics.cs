using System.Diagnostics;
using System.Diagnostics.Metrics;
using NostrRelay.Framing;

namespace NostrRelay.Metrics;

/// <summary>
/// The gateway's instruments (meter "NostrRelay"): what clients do and what the relay answers. Exported by the host
/// (OpenTelemetry: Prometheus at /metrics, OTLP when configured); every call here costs no allocation (tags are
/// constant strings), so they sit on the per-frame and per-event paths. The counts made per frame and per delivery
/// (messages by verb, bytes each way, live deliveries) are plain fields the exporter reads when it collects: a
/// counter's Add passes every listener's aggregation on each call, which cost 4 % of the relay's CPU per delivery.
/// </summary>
public sealed class RelayMetrics
{
    public const string MeterName = "NostrRelay";

    private readonly Counter<long> _events;
    private readonly Histogram<double> _okDuration;
    private readonly Histogram<double> _eoseDuration;
    private readonly Counter<long> _slowConsumers;
    private readonly long[] _messages = new long[Verbs.Length];
    private long _liveDeliveries;
    private long _bytesIn;
    private long _bytesOut;

    public RelayMetrics(IMeterFactory meters)
    {
        var meter = meters.Create(MeterName);
        _meter = meter;
        meter.CreateObservableCounter("nostr.messages.received", ObserveMessages, "{message}", "client messages, by verb");
        _events = meter.CreateCounter<long>("nostr.events.answered", "{event}", "EVENTs answered with OK, by outcome: accepted, duplicate, or the refusal's prefix");
        _okDuration = meter.CreateHistogram<double>("nostr.event.ok.duration", "ms", "from an EVENT's arrival to its OK, for EVENTs that went to their author's grain (after the durable commit)");
        _eoseDuration = meter.CreateHistogram<double>("nostr.req.eose.duration", "ms", "from a REQ's arrival to its EOSE");
        meter.CreateObservableCounter("nostr.deliveries.live", () => Interlocked.Read(ref _liveDeliveries), "{event}", "live events sent to subscribers (after their EOSE)");
        _slowConsumers = meter.CreateCounter<long>("nostr.slow_consumers.closed", "{subscription}", "subscriptions closed because the client read too slowly");
        meter.CreateObservableCounter("nostr.bytes.received", () => Interlocked.Read(ref _bytesIn), "By", "bytes of client messages");
        meter.CreateObservableCounter("nostr.bytes.sent", () => Interlocked.Read(ref _bytesOut), "By", "bytes of relay messages written to sockets");
        // Exported from the start (at 0), so a dashboard's series exist before the first slow consumer.
        _slowConsumers.Add(0);
    }

    private readonly Meter _meter;

    /// <summary>
    /// The gauges read when scraped (connections and REQ subscriptions open), from the gateway's shards: nothing to
    /// keep in step on each connect and CLOSE.
    /// </summary>
    public void Observe(Func<long> connections, Func<long> subscriptions)
    {
        _meter.CreateObservableUpDownCounter("nostr.connections.open", connections, "{connection}", "WebSocket connections open on this gateway");
        _meter.CreateObservableUpDownCounter("nostr.subscriptions.open", subscriptions, "{subscription}", "REQ subscriptions open on this gateway");
    }

    /// <summary>A client message read, by its verb; <see cref="Verbs"/> names them in the order of <see cref="ClientFrameKind"/>.</summary>
    internal void Message(ClientFrameKind kind) => Interlocked.Increment(ref _messages[(int)kind]);

    /// <summary>The verb tag of each <see cref="ClientFrameKind"/>, in its order.</summary>
    internal static readonly string[] Verbs = ["malformed", "EVENT", "REQ", "CLOSE", "COUNT", "AUTH", "NEG-OPEN", "NEG-MSG", "NEG-CLOSE", "unknown"];

    /// <summary>Only the verbs seen so far: a series for each verb nobody sends would be noise.</summary>
    private IEnumerable<Measurement<long>> ObserveMessages()
    {
        var seen = new List<Measurement<long>>(Verbs.Length);
        for (var i = 0; i < Verbs.Length; i++)
            if (Interlocked.Read(ref _messages[i]) is var count and > 0) seen.Add(new Measurement<long>(count, new KeyValuePair<string, object?>("verb", Verbs[i])));
        return seen;
    }

    /// <summary>EVENTs stored since the gateway started (accepted, not duplicates): for the landing page's rate.</summary>
    public long AcceptedTotal => Interlocked.Read(ref _accepted);

    private long _accepted;

    /// <summary>An OK sent, <paramref name="started"/> being the <see cref="Stopwatch"/> timestamp of the EVENT's arrival.</summary>
    /// <param name="shadowRejected">Told OK true but dropped by a policy: counted as "shadow", not as stored.</param>
    public void Answered(bool accepted, string message, long started, bool shadowRejected = false)
    {
        var outcome = shadowRejected ? "shadow" : Outcome(accepted, message);
        if (outcome == "accepted") Interlocked.Increment(ref _accepted);
        _events.Add(1, new KeyValuePair<string, object?>("outcome", outcome));
        _okDuration.Record(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
    }

    /// <summary>An EVENT refused before it went anywhere: counted by outcome, but not in the OK latency (which is the commit's).</summary>
    public void Refused(string message) => _events.Add(1, new KeyValuePair<string, object?>("outcome", Outcome(false, message)));

    public void EndOfStoredEvents(long started) => _eoseDuration.Record(Stopwatch.GetElapsedTime(started).TotalMilliseconds);

    public void LiveDelivery() => Interlocked.Increment(ref _liveDeliveries);

    public void SlowConsumerClosed() => _slowConsumers.Add(1);

    public void Received(int bytes) => Interlocked.Add(ref _bytesIn, bytes);

    public void Sent(int bytes) => Interlocked.Add(ref _bytesOut, bytes);

    /// <summary>A constant string per outcome (NIP-01's machine-readable prefixes), so a tag costs nothing.</summary>
    private static string Outcome(bool accepted, string message)
    {
        if (accepted) return message.StartsWith("duplicate:", StringComparison.Ordinal) ? "duplicate" : "accepted";
        foreach (var prefix in Prefixes)
            if (message.StartsWith(prefix, StringComparison.Ordinal) && message.Length > prefix.Length && message[prefix.Length] == ':') return prefix;
        return "other";
    }

    private static readonly string[] Prefixes = ["invalid", "blocked", "rate-limited", "restricted", "pow", "auth-required", "duplicate", "error", "mute", "replaced"];
}
