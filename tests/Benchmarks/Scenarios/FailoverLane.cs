using System.Diagnostics;
using System.Net.WebSockets;
using NostrRelay.Benchmarks.Client;
using NostrRelay.Benchmarks.Workload;

namespace NostrRelay.Benchmarks.Scenarios;

/// <summary>
/// One publishing client of the failover scenario: events [first, first + count) at a steady rate (each due at
/// start + n/rate) over one connection, up to a window unanswered, recording when each was sent and when its
/// OK true came. When the connection fails it reconnects to the next of its relays, as a client of a relay whose
/// silo died would, and sends what fell due meanwhile. EVENTs in flight on the lost connection stay unanswered
/// and are not sent again: the figures are about the relay, not about a client's retry policy.
/// </summary>
internal sealed class FailoverLane(string name, Uri[] relays, SignedEvent[] events, int first, int count, Dictionary<ulong, int> index, long[] sentAt,
    int perSecond, int window)
{
    private const int MaxProblems = 5;
    private readonly long[] _acceptedAt = new long[count];
    private readonly bool[] _answered = new bool[count];
    private readonly object _gate = new();
    private int _inFlight;

    public string Name { get; } = name;

    /// <summary>Events of this lane: <c>events[First + n]</c> for n below <see cref="Count"/>.</summary>
    public int First { get; } = first;
    public int Count { get; } = count;

    /// <summary><see cref="Stopwatch"/> ticks at which event n's OK true was read; 0 when it got none.</summary>
    public long AcceptedAt(int n) => _acceptedAt[n];

    public bool Answered(int n) => _answered[n];

    public int Sent { get; private set; }
    public int Accepted { get; private set; }
    public int Refused { get; private set; }
    public int Unanswered => Sent - Accepted - Refused;

    /// <summary>Sent on the current connection and not answered yet; those sent on a lost connection no longer count.</summary>
    public int InFlight => Volatile.Read(ref _inFlight);

    /// <summary>When each connection after the first opened (ticks) and to which of the lane's relays (an index): how long a lost connection took to come back.</summary>
    public List<(long At, int Relay)> Reconnects { get; } = [];

    /// <summary>A few of the relay's refusals, with their reasons; a refusal is the relay saying "not stored, try again", not a fault.</summary>
    public List<string> Refusals { get; } = [];

    public List<string> Problems { get; } = [];

    /// <summary>Publishes until every event was sent and <paramref name="stop"/> is cancelled (the caller waits for the last OKs first).</summary>
    public async Task RunAsync(long start, Watchdog watchdog, CancellationToken stop)
    {
        var interval = Stopwatch.Frequency / perSecond;
        var next = 0;
        var relay = 0;
        var connected = false;
        while (!stop.IsCancellationRequested)
        {
            RelayClient client;
            try
            {
                client = await RelayClient.ConnectAsync(relays[relay % relays.Length], TimeSpan.Zero, stop);
            }
            catch (Exception ex) when (ex is WebSocketException or HttpRequestException && !stop.IsCancellationRequested)
            {
                relay++;
                await Task.Delay(50, CancellationToken.None);
                continue;
            }
            catch (OperationCanceledException)
            {
                return;
            }
            if (connected) Reconnects.Add((Stopwatch.GetTimestamp(), relay % relays.Length));
            connected = true;

            using var connection = CancellationTokenSource.CreateLinkedTokenSource(stop);
            using var slots = new SemaphoreSlim(window, window);
            var receiving = ReceiveAsync(client, slots, watchdog, connection);
            try
            {
                for (; next < Count; next++)
                {
                    var wait = start + next * interval - Stopwatch.GetTimestamp();
                    if (wait * 1000 > Stopwatch.Frequency) await Task.Delay(TimeSpan.FromSeconds((double)wait / Stopwatch.Frequency), connection.Token);
                    await slots.WaitAsync(connection.Token);
                    Volatile.Write(ref sentAt[First + next], Stopwatch.GetTimestamp());
                    await client.SendAsync(events[First + next].Frame, connection.Token);
                    lock (_gate) Sent = next + 1;
                    Interlocked.Increment(ref _inFlight);
                }
                await receiving;   // every event sent: read OKs until stopped or the connection fails
            }
            catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or ObjectDisposedException or InvalidOperationException)
            {
                // The connection failed (or the run is over): the receiver has ended it or is ending it.
                connection.Cancel();
                try { await receiving; }
                catch (OperationCanceledException) { }
            }
            await client.DisposeAsync();
            Volatile.Write(ref _inFlight, 0);   // those will never be answered: Unanswered counts them
            if (!stop.IsCancellationRequested) relay++;   // the next relay; with one relay, the same one again
        }
    }

    private async Task ReceiveAsync(RelayClient client, SemaphoreSlim slots, Watchdog watchdog, CancellationTokenSource connection)
    {
        try
        {
            while (true)
            {
                var frame = await client.ReceiveAsync(connection.Token);
                if (Handle(frame.Span, Stopwatch.GetTimestamp()))
                {
                    slots.Release();
                    watchdog.Tick();
                }
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or ObjectDisposedException or InvalidOperationException)
        {
            connection.Cancel();   // ends the sender on this connection too
        }
    }

    private bool Handle(ReadOnlySpan<byte> frame, long now)
    {
        var reply = Reply.Read(frame);
        // NIP-42: the relay sends its AUTH challenge first on every connection; this lane does not authenticate.
        if (Reply.IsAuthChallenge(frame)) return false;
        if (reply.Kind != ReplyKind.Ok || !index.TryGetValue(IdKey.From(reply.EventId), out var i) || i < First || i >= First + Count)
        {
            AddProblem("unexpected frame: " + System.Text.Encoding.UTF8.GetString(frame[..Math.Min(frame.Length, 120)]));
            return false;
        }
        var n = i - First;
        lock (_gate)
        {
            if (_answered[n])
            {
                AddProblem($"a second OK for {events[i].Id[..12]}..");
                return false;
            }
            _answered[n] = true;
            Interlocked.Decrement(ref _inFlight);
            if (reply.Accepted)
            {
                _acceptedAt[n] = now;
                Accepted++;
            }
            else
            {
                Refused++;
                if (Refusals.Count < MaxProblems) Refusals.Add(reply.Message ?? "(no reason)");
            }
        }
        return true;
    }

    private void AddProblem(string problem)
    {
        lock (_gate)
        {
            if (Problems.Count < MaxProblems) Problems.Add(problem);
        }
    }
}
