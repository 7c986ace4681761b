using System.Diagnostics;
using System.Net.WebSockets;
using System.Text;

namespace NostrRelay.Testing.Hostile;

/// <summary>A kind-1 event signed before timing, with its <c>["EVENT",...]</c> message.</summary>
public sealed record HonestEvent(string Id, byte[] Message);

/// <summary>The honest client's figures for a range of its events (milliseconds).</summary>
public sealed record HonestFigures(int Sent, int Accepted, int Refused, int Unanswered, int Delivered, int Lost, int Duplicates, double[] OkMs, double[] LiveMs)
{
    public double OkP50 => Percentile(OkMs, 50);
    public double OkP99 => Percentile(OkMs, 99);
    public double LiveP50 => Percentile(LiveMs, 50);
    public double LiveP99 => Percentile(LiveMs, 99);

    /// <summary>Nearest rank; NaN without samples.</summary>
    public static double Percentile(double[] samples, double percentile)
    {
        if (samples.Length == 0) return double.NaN;
        var sorted = samples.Order().ToArray();
        var rank = (int)Math.Ceiling(percentile / 100 * sorted.Length);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Length - 1)];
    }

    public override string ToString() =>
        $"{Sent} sent, {Accepted} OK true, {Refused} OK false, {Unanswered} unanswered; {Delivered} delivered live, {Lost} lost, {Duplicates} duplicate; " +
        $"OK p50/p99 {OkP50:0.0}/{OkP99:0.0} ms, live p50/p99 {LiveP50:0.0}/{LiveP99:0.0} ms";
}

/// <summary>
/// The honest client beside an attack: one connection publishes pre-signed kind-1 events at a steady rate, another
/// holds <c>{kinds:[1],since:T}</c>. Each event's OK latency (send → OK) and live latency (send → the subscriber
/// reads it) is kept, so a phase before the attack and one during it can be compared; every event accepted must
/// arrive exactly once. The send time is kept here beside the event, not in its signed content.
/// </summary>
public sealed class HonestTraffic(HonestEvent[] events) : IAsyncDisposable
{
    public const string SubscriptionId = "honest";

    private readonly Dictionary<string, int> _index = events.Select((e, i) => (e.Id, i)).ToDictionary(p => p.Id, p => p.i, StringComparer.Ordinal);
    private readonly long[] _sentAt = new long[events.Length];
    private readonly long[] _okAt = new long[events.Length];
    private readonly bool[] _accepted = new bool[events.Length];
    private readonly long[] _deliveredAt = new long[events.Length];
    private readonly int[] _duplicates = new int[events.Length];
    private readonly object _gate = new();
    private readonly List<string> _problems = [];
    private TaskCompletionSource _progress = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private ClientWebSocket? _publisher;
    private ClientWebSocket? _subscriber;
    private Task _publisherReading = Task.CompletedTask;
    private Task _subscriberReading = Task.CompletedTask;
    private int _foreign;
    private volatile bool _disposing;

    public int Count => events.Length;

    /// <summary>How many events have been sent so far (they are sent in order).</summary>
    public int Sent { get; private set; }

    /// <summary>NOTICEs, CLOSED, lost connections: what the honest client should never see.</summary>
    public IReadOnlyList<string> Problems
    {
        get { lock (_gate) return [.. _problems]; }
    }

    /// <summary>Live events that were not the honest publisher's (an attacker's kind-1 event, say).</summary>
    public int Foreign => Volatile.Read(ref _foreign);

    /// <summary>kind-1 events by one author (from <paramref name="seed"/>), all with <paramref name="createdAt"/>, signed on every core.</summary>
    public static HonestEvent[] Sign(int seed, long createdAt, int count, string label)
    {
        var random = new Random(seed);
        byte[] secretKey;
        while (true)
        {
            secretKey = new byte[32];
            random.NextBytes(secretKey);
            try
            {
                NativeSchnorrSigner.Shared.PublicKeyHex(secretKey);
                break;
            }
            catch (ArgumentException)
            {
            }
        }
        var signed = new HonestEvent[count];
        Parallel.For(0, count, i =>
        {
            var evt = NativeSchnorrSigner.Shared.Sign(secretKey, createdAt, 1, [], $"{label} {i}: an honest note, published while others misbehave");
            signed[i] = new HonestEvent(evt.Id, [.. "[\"EVENT\","u8, .. evt.Json, (byte)']']);
        });
        return signed;
    }

    /// <summary>Opens the subscription (returns at its EOSE) and the publisher's connection.</summary>
    public async Task ConnectAsync(Uri relay, long since, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(15));
        _subscriber = new ClientWebSocket();
        _subscriber.Options.KeepAliveInterval = TimeSpan.Zero;
        await _subscriber.ConnectAsync(relay, timeout.Token);
        var endOfStored = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _subscriberReading = Task.Run(() => ReadSubscriberAsync(_subscriber, endOfStored));
        await _subscriber.SendAsync(Encoding.UTF8.GetBytes($"[\"REQ\",\"{SubscriptionId}\",{{\"kinds\":[1],\"since\":{since}}}]"), WebSocketMessageType.Text, true, timeout.Token);
        await endOfStored.Task.WaitAsync(timeout.Token);

        _publisher = new ClientWebSocket();
        _publisher.Options.KeepAliveInterval = TimeSpan.Zero;
        await _publisher.ConnectAsync(relay, timeout.Token);
        _publisherReading = Task.Run(() => ReadPublisherAsync(_publisher));
    }

    /// <summary>
    /// Sends events [first, first + count) at <paramref name="perSecond"/>, each due at start + n/rate (timer
    /// jitter does not add up); <paramref name="stop"/> ends it early. Returns how many it sent.
    /// </summary>
    public async Task<int> PublishAsync(int first, int count, double perSecond, CancellationToken stop)
    {
        var publisher = _publisher ?? throw new InvalidOperationException("not connected");
        var start = Stopwatch.GetTimestamp();
        var sent = 0;
        try
        {
            for (var n = 0; n < count && first + n < events.Length; n++)
            {
                var wait = (start + (long)(n * Stopwatch.Frequency / perSecond) - Stopwatch.GetTimestamp()) * 1000 / Stopwatch.Frequency;
                if (wait > 1) await Task.Delay(TimeSpan.FromMilliseconds(wait), stop);
                if (stop.IsCancellationRequested) break;
                var i = first + n;
                Volatile.Write(ref _sentAt[i], Stopwatch.GetTimestamp());
                await publisher.SendAsync(events[i].Message, WebSocketMessageType.Text, true, CancellationToken.None);
                sent++;
                Sent = i + 1;
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
        catch (WebSocketException ex)
        {
            AddProblem("the publisher's connection failed: " + ex.Message);
        }
        return sent;
    }

    /// <summary>Waits until every sent event in the range has its OK and every accepted one reached the subscriber; false on timeout.</summary>
    public async Task<bool> SettleAsync(int first, int count, TimeSpan timeout)
    {
        var deadline = Task.Delay(timeout);
        while (true)
        {
            Task progress;
            lock (_gate) progress = _progress.Task;
            if (IsSettled(first, count)) return true;
            if (await Task.WhenAny(progress, deadline, _subscriberReading, _publisherReading) != progress) return IsSettled(first, count);
        }
    }

    private bool IsSettled(int first, int count)
    {
        for (var i = first; i < first + count && i < events.Length; i++)
        {
            if (Volatile.Read(ref _sentAt[i]) == 0) continue;
            if (Volatile.Read(ref _okAt[i]) == 0) return false;
            if (Volatile.Read(ref _accepted[i]) && Volatile.Read(ref _deliveredAt[i]) == 0) return false;
        }
        return true;
    }

    public HonestFigures Figures(int first, int count)
    {
        int sent = 0, accepted = 0, refused = 0, unanswered = 0, delivered = 0, lost = 0, duplicates = 0;
        var ok = new List<double>();
        var live = new List<double>();
        var toMs = 1000.0 / Stopwatch.Frequency;
        lock (_gate)
        {
            for (var i = first; i < first + count && i < events.Length; i++)
            {
                if (_sentAt[i] == 0) continue;
                sent++;
                duplicates += _duplicates[i];
                if (_okAt[i] == 0) unanswered++;
                else
                {
                    ok.Add((_okAt[i] - _sentAt[i]) * toMs);
                    if (_accepted[i]) accepted++;
                    else refused++;
                }
                if (_deliveredAt[i] != 0)
                {
                    delivered++;
                    live.Add((_deliveredAt[i] - _sentAt[i]) * toMs);
                }
                else if (_accepted[i]) lost++;
            }
        }
        return new HonestFigures(sent, accepted, refused, unanswered, delivered, lost, duplicates, [.. ok], [.. live]);
    }

    private async Task ReadSubscriberAsync(ClientWebSocket socket, TaskCompletionSource endOfStored)
    {
        var buffer = new byte[64 * 1024];
        try
        {
            while (true)
            {
                var (length, closed) = await ReceiveAsync(socket, buffer);
                if (closed)
                {
                    if (!_disposing) AddProblem($"the relay closed the honest subscriber's connection: {socket.CloseStatus} {socket.CloseStatusDescription}");
                    return;
                }
                var now = Stopwatch.GetTimestamp();
                var reply = RelayReply.Parse(buffer.AsSpan(0, length), readEventId: true);
                switch (reply.Type)
                {
                    case ReplyType.Event when reply.Key == SubscriptionId:
                        if (reply.EventId is null || !_index.TryGetValue(reply.EventId, out var i)) Interlocked.Increment(ref _foreign);
                        else
                        {
                            lock (_gate)
                            {
                                if (_deliveredAt[i] != 0) _duplicates[i]++;
                                else _deliveredAt[i] = now;
                            }
                            Signal();
                        }
                        break;
                    case ReplyType.Eose when reply.Key == SubscriptionId:
                        endOfStored.TrySetResult();
                        break;
                    case ReplyType.Closed:
                        AddProblem("the honest subscription was CLOSED: " + reply.Message);
                        endOfStored.TrySetException(new InvalidOperationException("the relay refused the honest subscription: " + reply.Message));
                        break;
                    case ReplyType.Auth:
                        break;   // NIP-42: every connection is offered a challenge
                    default:
                        AddProblem("the honest subscriber got " + reply);
                        break;
                }
            }
        }
        catch (Exception ex) when (ex is WebSocketException or ObjectDisposedException or OperationCanceledException)
        {
            if (!_disposing) AddProblem("the honest subscriber's connection failed: " + ex.Message);
            endOfStored.TrySetException(ex);
        }
    }

    private async Task ReadPublisherAsync(ClientWebSocket socket)
    {
        var buffer = new byte[16 * 1024];
        try
        {
            while (true)
            {
                var (length, closed) = await ReceiveAsync(socket, buffer);
                if (closed)
                {
                    if (!_disposing) AddProblem($"the relay closed the honest publisher's connection: {socket.CloseStatus} {socket.CloseStatusDescription}");
                    return;
                }
                var now = Stopwatch.GetTimestamp();
                var reply = RelayReply.Parse(buffer.AsSpan(0, length));
                if (reply.Type == ReplyType.Ok && reply.Key is not null && _index.TryGetValue(reply.Key, out var i))
                {
                    lock (_gate)
                    {
                        if (_okAt[i] != 0) AddProblem($"a second OK for honest event {i}");
                        _okAt[i] = now;
                        _accepted[i] = reply.Accepted;
                        if (!reply.Accepted) AddProblem($"honest event {i} refused: {reply.Message}");
                    }
                    Signal();
                }
                else if (reply.Type != ReplyType.Auth) AddProblem("the honest publisher got " + reply);   // a challenge is fine
            }
        }
        catch (Exception ex) when (ex is WebSocketException or ObjectDisposedException or OperationCanceledException)
        {
            if (!_disposing) AddProblem("the honest publisher's connection failed: " + ex.Message);
        }
    }

    private static async Task<(int Length, bool Closed)> ReceiveAsync(ClientWebSocket socket, byte[] buffer)
    {
        var length = 0;
        while (true)
        {
            if (length == buffer.Length) throw new WebSocketException($"a message larger than {buffer.Length} bytes");
            var result = await socket.ReceiveAsync(buffer.AsMemory(length), CancellationToken.None);
            if (result.MessageType == WebSocketMessageType.Close) return (0, true);
            length += result.Count;
            if (result.EndOfMessage) return (length, false);
        }
    }

    private void AddProblem(string problem)
    {
        lock (_gate)
        {
            if (_problems.Count < 10) _problems.Add(problem);
        }
    }

    private void Signal()
    {
        TaskCompletionSource progress;
        lock (_gate)
        {
            progress = _progress;
            _progress = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }
        progress.TrySetResult();
    }

    public async ValueTask DisposeAsync()
    {
        if (_disposing) return;
        _disposing = true;
        foreach (var socket in new[] { _publisher, _subscriber })
        {
            if (socket is null) continue;
            try
            {
                if (socket.State == WebSocketState.Open)
                {
                    using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(1));
                    await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "", timeout.Token);
                }
            }
            catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or ObjectDisposedException)
            {
            }
            socket.Abort();
        }
        await Task.WhenAll(_publisherReading, _subscriberReading).WaitAsync(TimeSpan.FromSeconds(3)).ContinueWith(_ => { });
        _publisher?.Dispose();
        _subscriber?.Dispose();
    }
}
