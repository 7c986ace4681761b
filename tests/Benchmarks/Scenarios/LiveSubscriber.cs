using System.Diagnostics;
using System.Net.WebSockets;
using NostrRelay.Benchmarks.Client;
using NostrRelay.Benchmarks.Reporting;

namespace NostrRelay.Benchmarks.Scenarios;

/// <summary>
/// One subscriber connection of the live scenarios: checks off each event it receives, once. Events below
/// <c>firstTimed</c> are the warm-up: checked off too, but not timed.
/// </summary>
internal sealed class LiveSubscriber(int total, int firstTimed, Dictionary<ulong, int> index, long[] sentAt) : IAsyncDisposable
{
    private const string Id = "live";
    private static readonly byte[] IdBytes = "live"u8.ToArray();
    private readonly bool[] _seen = new bool[total];
    private RelayClient? _client;

    public Latencies Latencies { get; } = new(total - firstTimed);
    public int Unique { get; private set; }
    public int TimedUnique { get; private set; }
    public int Duplicates { get; private set; }
    public long LastDeliveryAt { get; private set; }
    public List<string> Problems { get; } = [];

    /// <summary>Whether event i has arrived; read while the subscriber runs, to wait for a set of events.</summary>
    public bool Saw(int i) => Volatile.Read(ref _seen[i]);

    /// <summary>Connects, sends the REQ and returns at its EOSE (the store is empty: nothing comes before it).</summary>
    public async Task SubscribeAsync(Uri relay, long since, CancellationToken cancellationToken)
    {
        _client = await RelayClient.ConnectAsync(relay, TimeSpan.FromSeconds(10), cancellationToken);
        await _client.SendAsync(ClientFrames.Req(Id, $"{{\"kinds\":[1],\"since\":{since}}}"), cancellationToken);
        while (true)
        {
            var frame = await _client.ReceiveAsync(cancellationToken);
            var (kind, message) = Classify(frame.Span);
            if (kind == ReplyKind.EndOfStoredEvents) return;
            if (kind == ReplyKind.Closed) throw new InvalidOperationException("the relay refused the live REQ: " + message);
        }
    }

    private static (ReplyKind Kind, string? Message) Classify(ReadOnlySpan<byte> frame)
    {
        var reply = Reply.Read(frame);
        return (reply.Kind, reply.Message);
    }

    /// <summary>
    /// Reads until <paramref name="untilUnique"/> distinct events came; a failure here ends only this
    /// subscriber (its misses are counted).
    /// </summary>
    public async Task ReceiveAsync(int untilUnique, Watchdog watchdog)
    {
        var client = _client ?? throw new InvalidOperationException("not subscribed");
        var token = watchdog.Token;
        try
        {
            while (Unique < untilUnique)
            {
                var frame = await client.ReceiveAsync(token);
                if (!Handle(frame.Span, Stopwatch.GetTimestamp())) return;
                watchdog.Tick();
            }
        }
        catch (Exception ex) when (ex is WebSocketException or InvalidOperationException && !token.IsCancellationRequested)
        {
            AddProblem("connection failed: " + ex.Message);
        }
    }

    /// <summary>False when the subscription was closed by the relay: nothing more will come.</summary>
    private bool Handle(ReadOnlySpan<byte> frame, long now)
    {
        var reply = Reply.Read(frame);
        switch (reply.Kind)
        {
            case ReplyKind.Event when reply.SubscriptionId.SequenceEqual(IdBytes):
                if (!index.TryGetValue(IdKey.From(reply.EventId), out var i))
                {
                    AddProblem("an event that was not published in this run");
                    return true;
                }
                if (_seen[i])
                {
                    Duplicates++;
                    return true;
                }
                _seen[i] = true;
                Unique++;
                if (i >= firstTimed)
                {
                    TimedUnique++;
                    Latencies.Add(now - Volatile.Read(ref sentAt[i]));
                    LastDeliveryAt = now;
                }
                return true;
            case ReplyKind.Closed:
                AddProblem("CLOSED: " + reply.Message);
                return false;
            case ReplyKind.Notice:
                AddProblem("NOTICE: " + reply.Message);
                return true;
            default:
                if (!Reply.IsAuthChallenge(frame)) AddProblem("unexpected frame: " + System.Text.Encoding.UTF8.GetString(frame[..Math.Min(frame.Length, 100)]));
                return true;
        }
    }

    private void AddProblem(string problem)
    {
        if (Problems.Count < 3) Problems.Add(problem);
    }

    public ValueTask DisposeAsync() => _client?.DisposeAsync() ?? ValueTask.CompletedTask;
}
