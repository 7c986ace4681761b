using System.Diagnostics;
using NostrRelay.Benchmarks.Client;
using NostrRelay.Benchmarks.Reporting;
using NostrRelay.Benchmarks.Workload;

namespace NostrRelay.Benchmarks.Scenarios;

/// <summary>
/// Publishes pre-signed events over several connections at once, each keeping up to a window of EVENTs
/// awaiting their OK (sent without waiting, as strfry and the other peers were measured). An OK's latency
/// runs from just before its EVENT was handed to the socket to the moment its OK was read.
/// </summary>
internal static class Publisher
{
    public static Task<PublishOutcome> PublishAsync(Uri relay, SignedEvent[][] lanes, int window, TimeSpan stallTimeout) =>
        PublishAsync([relay], lanes, window, stallTimeout);

    /// <summary>As above, lane i connected to <paramref name="relays"/>[i % relays.Length] (the gateways of a cluster).</summary>
    public static async Task<PublishOutcome> PublishAsync(Uri[] relays, SignedEvent[][] lanes, int window, TimeSpan stallTimeout)
    {
        using var watchdog = new Watchdog(stallTimeout);
        var clients = new RelayClient[lanes.Length];
        try
        {
            for (var i = 0; i < lanes.Length; i++) clients[i] = await RelayClient.ConnectAsync(relays[i % relays.Length], TimeSpan.FromSeconds(10), watchdog.Token);
            var running = new Lane[lanes.Length];
            for (var i = 0; i < lanes.Length; i++) running[i] = new Lane(clients[i], lanes[i], window, watchdog);

            var started = Stopwatch.GetTimestamp();
            var tasks = new Task[running.Length];
            for (var i = 0; i < running.Length; i++) tasks[i] = running[i].RunAsync();
            try
            {
                await Task.WhenAll(tasks);
            }
            catch (Exception) when (watchdog.Token.IsCancellationRequested)
            {
                // Reported below with the counts reached.
            }
            var elapsed = Stopwatch.GetElapsedTime(started);

            var problems = new List<string>();
            foreach (var lane in running) problems.AddRange(lane.Problems);
            var sent = running.Sum(l => l.Sent);
            var answered = running.Sum(l => l.Accepted + l.Rejected);
            if (watchdog.Stalled)
                problems.Add($"stall: no OK for {stallTimeout.TotalSeconds:0} s; {answered:N0} of {sent:N0} sent EVENTs answered ({lanes.Sum(l => l.Length):N0} to send)");
            foreach (var task in tasks)
                if (task.Exception?.GetBaseException() is { } failure && failure is not OperationCanceledException)
                    problems.Add("publisher connection failed: " + failure.Message);
            return new PublishOutcome(sent, running.Sum(l => l.Accepted), running.Sum(l => l.Rejected), elapsed,
                Latencies.Merge(running.Select(l => l.Latencies)), problems);
        }
        finally
        {
            foreach (var client in clients) if (client is not null) await client.DisposeAsync();
        }
    }

    private sealed class Lane
    {
        private const int MaxProblems = 5;
        private readonly RelayClient _client;
        private readonly SignedEvent[] _events;
        private readonly Dictionary<ulong, int> _index;
        private readonly long[] _sentAt;
        private readonly bool[] _answered;
        private readonly SemaphoreSlim _window;
        private readonly Watchdog _watchdog;

        public Lane(RelayClient client, SignedEvent[] events, int window, Watchdog watchdog)
        {
            _client = client;
            _events = events;
            _watchdog = watchdog;
            _sentAt = new long[events.Length];
            _answered = new bool[events.Length];
            _window = new SemaphoreSlim(window, window);
            _index = new Dictionary<ulong, int>(events.Length);
            for (var i = 0; i < events.Length; i++) _index[events[i].Key] = i;
            Latencies = new Latencies(events.Length);
        }

        public Latencies Latencies { get; }
        public int Sent { get; private set; }
        public int Accepted { get; private set; }
        public int Rejected { get; private set; }
        public List<string> Problems { get; } = [];

        public async Task RunAsync()
        {
            // If either half fails the other would wait forever (for a window slot or an OK): end both.
            var sending = Guard(SendAsync());
            var receiving = Guard(ReceiveAsync());
            await Task.WhenAll(sending, receiving);
        }

        private async Task Guard(Task part)
        {
            try { await part; }
            catch { _watchdog.Abort(); throw; }
        }

        private async Task SendAsync()
        {
            var token = _watchdog.Token;
            for (var i = 0; i < _events.Length; i++)
            {
                await _window.WaitAsync(token);
                _sentAt[i] = Stopwatch.GetTimestamp();
                await _client.SendAsync(_events[i].Frame, token);
                Sent = i + 1;
            }
        }

        private async Task ReceiveAsync()
        {
            var token = _watchdog.Token;
            while (Accepted + Rejected < _events.Length)
            {
                var frame = await _client.ReceiveAsync(token);
                if (Handle(frame.Span, Stopwatch.GetTimestamp()))
                {
                    _window.Release();
                    _watchdog.Tick();
                }
            }
        }

        private bool Handle(ReadOnlySpan<byte> frame, long now)
        {
            var reply = Reply.Read(frame);
            if (reply.Kind != ReplyKind.Ok)
            {
                if (Reply.IsAuthChallenge(frame)) return false;
                AddProblem(reply.Kind == ReplyKind.Notice ? "NOTICE while publishing: " + reply.Message
                    : "unexpected frame while publishing: " + System.Text.Encoding.UTF8.GetString(frame[..Math.Min(frame.Length, 120)]));
                return false;
            }
            if (!_index.TryGetValue(IdKey.From(reply.EventId), out var i))
            {
                AddProblem("OK for an event this connection never sent: " + System.Text.Encoding.UTF8.GetString(reply.EventId));
                return false;
            }
            if (_answered[i])
            {
                AddProblem($"a second OK for {_events[i].Id[..12]}..");
                return false;
            }
            _answered[i] = true;
            Latencies.Add(now - _sentAt[i]);
            if (reply.Accepted) Accepted++;
            else
            {
                Rejected++;
                AddProblem($"OK false for {_events[i].Id[..12]}..: {reply.Message}");
            }
            return true;
        }

        private void AddProblem(string problem)
        {
            if (Problems.Count < MaxProblems) Problems.Add(problem);
            else if (Problems.Count == MaxProblems) Problems.Add("(more problems on this connection not shown)");
        }
    }
}
