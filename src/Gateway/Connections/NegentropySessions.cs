using Microsoft.Extensions.Logging;
using NostrRelay.Framing;
using NostrRelay.Grains;
using NostrRelay.Hosting;
using NostrRelay.Sync;

namespace NostrRelay.Connections;

/// <summary>
/// One connection's NIP-77 sessions. NEG-OPEN reads the filter's records on a negentropy grain (off this connection's
/// receive loop: a million records take seconds) and answers the initial message; each NEG-MSG is answered here, from
/// the records held, in milliseconds. A session ends with NEG-CLOSE, a NEG-ERR, the idle timeout or the connection.
/// </summary>
/// <param name="backlogged">
/// True while the client leaves too much unread: a small NEG-MSG can ask for an answer of the whole frame limit, so
/// answers stop (the session ends) rather than pile up in memory.
/// </param>
internal sealed partial class NegentropySessions(IGrainFactory grains, ClusterCallWatch calls, RelayNegentropyOptions options, NegentropyBudget budget,
    Action<OutboundFrame> reply, Func<bool> backlogged, ILogger logger)
{
    private readonly Dictionary<string, Session> _sessions = new(StringComparer.Ordinal);
    private bool _closed;

    /// <summary>Reads this connection started that have not finished, ended sessions' too: each holds a read thread.</summary>
    private int _reading;

    public int Count
    {
        get { lock (_sessions) return _sessions.Count; }
    }

    /// <summary>Starts a session (replacing one of the same id); its first NEG-MSG, or a NEG-ERR, follows when its records are read.</summary>
    public void Open(string subscriptionId, NegentropyRequest request, byte[] initialMessage)
    {
        Session session;
        lock (_sessions)
        {
            if (_closed) return;
            if (_sessions.Remove(subscriptionId, out var previous)) previous.End(budget);
            if (_sessions.Count >= options.MaxSessions || _reading >= options.MaxSessions)
            {
                reply(RelayFrames.NegentropyError(subscriptionId,
                    $"blocked: too many negentropy sessions on this connection (at most {options.MaxSessions}); send NEG-CLOSE for finished ones"));
                return;
            }
            session = new Session(subscriptionId);
            _sessions.Add(subscriptionId, session);
            _reading++;
        }
        _ = LoadAsync(session, request, initialMessage);
    }

    /// <summary>Answers the client's next message of a session.</summary>
    public void Message(string subscriptionId, byte[] message)
    {
        Session? session;
        lock (_sessions) _sessions.TryGetValue(subscriptionId, out session);
        if (session is null)
        {
            reply(RelayFrames.NegentropyError(subscriptionId, "closed: no negentropy session is open with this id; send NEG-OPEN"));
            return;
        }
        Answer(session, message);
    }

    /// <summary>NEG-CLOSE: the session's records are freed; nothing is sent back.</summary>
    public void Close(string subscriptionId)
    {
        lock (_sessions)
            if (_sessions.Remove(subscriptionId, out var session)) session.End(budget);
    }

    /// <summary>The connection ended: every session's records are freed, and reads under way are abandoned.</summary>
    public void CloseAll()
    {
        lock (_sessions)
        {
            _closed = true;
            foreach (var session in _sessions.Values) session.End(budget);
            _sessions.Clear();
        }
    }

    private async Task LoadAsync(Session session, NegentropyRequest request, byte[] initialMessage)
    {
        NegentropyRead read;
        var reading = calls.CallAsync(() => grains.GetGrain<INegentropyGrain>(0).ReadAsync(request));
        // The read goes on after a NEG-CLOSE (a grain call is not cancelled): it counts until it is done.
        _ = reading.ContinueWith(_ => { lock (_sessions) _reading--; }, TaskScheduler.Default);
        try
        {
            read = await reading.WaitAsync(session.Ended);
        }
        catch (OperationCanceledException) when (session.Ended.IsCancellationRequested)
        {
            return;
        }
        catch (Exception ex)
        {
            LogReadFailed(logger, ex, session.Id);
            Fail(session, ex is TimeoutException or OperationCanceledException
                ? "error: reading the events to reconcile took too long; narrow the filter with since and until"
                : "error: could not read the events to reconcile; try again later");
            return;
        }
        if (read.Records is not { } records)
        {
            Fail(session, $"blocked: this filter matches more than {options.MaxRecords} events; narrow it with since and until", options.MaxRecords);
            return;
        }
        if (!budget.TryTake(records.Count))
        {
            Fail(session, "blocked: the relay is reconciling too many events at once; try again later");
            return;
        }
        lock (_sessions)
        {
            if (!session.Hold(records, new Negentropy(records, options.FrameSizeLimit)))
            {
                budget.Release(records.Count);
                return;
            }
        }
        Answer(session, initialMessage);
    }

    private void Answer(Session session, byte[] message)
    {
        if (backlogged())
        {
            Fail(session, "blocked: the relay's earlier answers are still unread; read them before sending more");
            return;
        }
        byte[]? answer;
        try
        {
            answer = session.Reconcile(message, out var reading);
            if (reading)
            {
                Fail(session, "invalid: wait for the relay's answer before sending the next NEG-MSG");
                return;
            }
            if (answer is null) return;   // closed meanwhile
        }
        catch (NegentropyException ex)
        {
            Fail(session, "invalid: " + ex.Message);
            return;
        }
        reply(RelayFrames.NegentropyMessage(session.Id, answer));
        session.Touch(options.IdleTimeout, TimedOut);
    }

    private void TimedOut(Session session) =>
        Fail(session, $"closed: the session was idle for more than {options.IdleTimeout.TotalSeconds:0} s");

    /// <summary>Ends the session with a NEG-ERR, unless it already ended (closed, replaced) meanwhile.</summary>
    private void Fail(Session session, string reason, long? maxRecords = null)
    {
        lock (_sessions)
        {
            if (!_sessions.TryGetValue(session.Id, out var current) || current != session) return;
            _sessions.Remove(session.Id);
            session.End(budget);
        }
        reply(RelayFrames.NegentropyError(session.Id, reason, maxRecords));
    }

    /// <summary>One NEG-OPEN: reading its records, then reconciling from them.</summary>
    private sealed class Session(string id)
    {
        private readonly CancellationTokenSource _ended = new();
        private Negentropy? _protocol;
        private long _held;
        private Timer? _idle;

        public string Id { get; } = id;

        public CancellationToken Ended => _ended.Token;

        /// <summary>Keeps the records read; false when the session ended while they were read.</summary>
        public bool Hold(NegentropySet records, Negentropy protocol)
        {
            lock (this)
            {
                if (_ended.IsCancellationRequested) return false;
                _protocol = protocol;
                _held = records.Count;
                return true;
            }
        }

        /// <returns>The answer; null when the session has ended, or its records are still being read (<paramref name="reading"/>).</returns>
        public byte[]? Reconcile(byte[] message, out bool reading)
        {
            lock (this)
            {
                reading = _protocol is null && !_ended.IsCancellationRequested;
                return _protocol?.Reconcile(message);
            }
        }

        public void Touch(TimeSpan idleTimeout, Action<Session> timedOut)
        {
            lock (this)
            {
                if (_ended.IsCancellationRequested) return;
                _idle ??= new Timer(static state => { var (session, callback) = ((Session, Action<Session>))state!; callback(session); }, (this, timedOut), Timeout.Infinite, Timeout.Infinite);
                _idle.Change(idleTimeout, Timeout.InfiniteTimeSpan);
            }
        }

        public void End(NegentropyBudget budget)
        {
            lock (this)
            {
                if (_ended.IsCancellationRequested) return;
                _ended.Cancel();
                _idle?.Dispose();
                _protocol = null;
                budget.Release(_held);
                _held = 0;
            }
        }
    }

    [LoggerMessage(EventId = 407, Level = LogLevel.Warning, Message = "NEG-OPEN {SubscriptionId}: reading its records failed")]
    private static partial void LogReadFailed(ILogger logger, Exception exception, string subscriptionId);
}
