using System.Diagnostics;
using NostrRelay.Benchmarks.Client;
using NostrRelay.Benchmarks.Reporting;
using NostrRelay.Benchmarks.Workload;

namespace NostrRelay.Benchmarks.Scenarios;

/// <summary>
/// The live scenarios' publisher for events [first, first + count): one connection, events at a fixed rate
/// (each due at start + i/rate, so timer jitter does not add up) or, without a rate, as fast as a window
/// of unanswered EVENTs allows. It records each event's send time where the subscribers read it.
/// </summary>
internal sealed class LivePublisher(RelayClient client, SignedEvent[] events, int first, int count, Dictionary<ulong, int> index, long[] sentAt,
    int? perSecond, int window)
{
    private readonly SemaphoreSlim _window = new(window, window);
    private int _answered;

    /// <summary>Send to OK: the relay's commit before fan-out, which every delivery's latency includes.</summary>
    public Latencies OkLatencies { get; } = new(count);
    public int Accepted { get; private set; }
    public long LastSentAt { get; private set; }
    public List<string> Problems { get; } = [];

    public Task RunAsync(Watchdog watchdog) => Task.WhenAll(Guard(SendAsync(watchdog.Token), watchdog), Guard(ReceiveAsync(watchdog), watchdog));

    private static async Task Guard(Task part, Watchdog watchdog)
    {
        try { await part; }
        catch { watchdog.Abort(); throw; }
    }

    private async Task SendAsync(CancellationToken cancellationToken)
    {
        var start = Stopwatch.GetTimestamp();
        var interval = perSecond is { } rate ? Stopwatch.Frequency / rate : 0;
        for (var n = 0; n < count; n++)
        {
            if (interval > 0)
            {
                var wait = start + n * interval - Stopwatch.GetTimestamp();
                if (wait * 1000 > Stopwatch.Frequency) await Task.Delay(TimeSpan.FromSeconds((double)wait / Stopwatch.Frequency), cancellationToken);
            }
            else
            {
                await _window.WaitAsync(cancellationToken);
            }
            var i = first + n;
            var now = Stopwatch.GetTimestamp();
            Volatile.Write(ref sentAt[i], now);
            await client.SendAsync(events[i].Frame, cancellationToken);
            LastSentAt = now;
        }
    }

    private async Task ReceiveAsync(Watchdog watchdog)
    {
        while (_answered < count)
        {
            var frame = await client.ReceiveAsync(watchdog.Token);
            if (Handle(frame.Span, Stopwatch.GetTimestamp()))
            {
                if (perSecond is null) _window.Release();
                watchdog.Tick();
            }
        }
    }

    private bool Handle(ReadOnlySpan<byte> frame, long now)
    {
        var reply = Reply.Read(frame);
        if (Reply.IsAuthChallenge(frame)) return false;
        if (reply.Kind != ReplyKind.Ok || !index.TryGetValue(IdKey.From(reply.EventId), out var i) || i < first || i >= first + count)
        {
            if (Problems.Count < 5) Problems.Add("unexpected frame: " + System.Text.Encoding.UTF8.GetString(frame[..Math.Min(frame.Length, 100)]));
            return false;
        }
        _answered++;
        OkLatencies.Add(now - Volatile.Read(ref sentAt[i]));
        if (reply.Accepted) Accepted++;
        else if (Problems.Count < 5) Problems.Add("OK false: " + reply.Message);
        return true;
    }
}
