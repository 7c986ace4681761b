using System.Net.WebSockets;
using System.Text;

namespace NostrRelay.Testing.Hostile;

/// <summary>
/// What attacker connections sent and got back. A frame that had to be answered is either answered, excused
/// (its connection was closed by the relay with a status and a reason before the answer came), or unanswered.
/// Violations are answers NIP-01 does not allow (a bad event accepted, a missing prefix, EOSE where the limit
/// demanded CLOSED, a connection dropped without a close frame, ...), kept by kind with a count and the first case.
/// </summary>
public sealed class HostileTally
{
    private readonly object _gate = new();
    private readonly Dictionary<string, (int Count, string First)> _violations = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (int Count, string First)> _unsolicited = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _relayClosedSubscriptions = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _closes = new(StringComparer.Ordinal);
    private readonly List<string> _unansweredExamples = [];
    private readonly long[] _received = new long[Enum.GetValues<ReplyType>().Length];

    public int FramesSent { get; private set; }
    public long BytesSent { get; private set; }
    public int NotDelivered { get; private set; }
    public int Due { get; private set; }
    public int Unanswered { get; private set; }
    public int Excused { get; private set; }
    public int ExtraNotices { get; private set; }

    /// <summary>Times a barrier or the end of a script waited <see cref="HostileTimeouts.Answers"/> and answers were still missing.</summary>
    public int AnswerWaitsTimedOut { get; private set; }
    public int Connections { get; private set; }

    public int Answered => Due - Unanswered - Excused;

    public long ReceivedCount(ReplyType type)
    {
        lock (_gate) return _received[(int)type];
    }

    /// <summary>OK, EOSE or CLOSED that no frame was waiting for (not counting CLOSED for a subscription the relay ended itself).</summary>
    public int UnsolicitedCount
    {
        get { lock (_gate) return _unsolicited.Values.Sum(v => v.Count); }
    }

    public int ViolationCount
    {
        get { lock (_gate) return _violations.Values.Sum(v => v.Count); }
    }

    public int RelayClosedSubscriptions
    {
        get { lock (_gate) return _relayClosedSubscriptions.Values.Sum(); }
    }

    /// <summary>Connections the relay closed, by close status (or "no close frame").</summary>
    public IReadOnlyDictionary<string, int> Closes
    {
        get { lock (_gate) return new Dictionary<string, int>(_closes); }
    }

    internal void Sent(HostileFrame frame)
    {
        lock (_gate)
        {
            FramesSent++;
            BytesSent += frame.Bytes.Length;
        }
    }

    internal void Withdrawn()
    {
        lock (_gate) NotDelivered++;
    }

    internal void Received(ReplyType type)
    {
        lock (_gate) _received[(int)type]++;
    }

    internal void Connected()
    {
        lock (_gate) Connections++;
    }

    internal void Violation(string kind, string example) => Add(_violations, kind, example);

    internal void SlowAnswers(string outstanding)
    {
        lock (_gate)
        {
            AnswerWaitsTimedOut++;
            if (_slowAnswerExample is null) _slowAnswerExample = outstanding.Length > 400 ? outstanding[..400] + "…" : outstanding;
        }
    }

    private string? _slowAnswerExample;

    internal void Unsolicited(string kind, string example) => Add(_unsolicited, kind, example);

    internal void RelayClosedSubscription(string reason)
    {
        var prefix = reason.IndexOf(':') is > 0 and var colon ? reason[..colon] : reason;
        lock (_gate) _relayClosedSubscriptions[prefix] = _relayClosedSubscriptions.GetValueOrDefault(prefix) + 1;
    }

    internal void Closed(WebSocketCloseStatus? status, string? reason)
    {
        var key = status is { } s ? $"{(int)s} {s}" : "no close frame (1006)";
        if (status is not null && string.IsNullOrEmpty(reason)) key += " without a reason";
        lock (_gate) _closes[key] = _closes.GetValueOrDefault(key) + 1;
    }

    /// <summary>One socket's accounts, when it has ended.</summary>
    internal void Settle(int due, int unanswered, bool excused, int extraNotices, IEnumerable<string> outstanding)
    {
        lock (_gate)
        {
            Due += due;
            ExtraNotices += extraNotices;
            if (unanswered == 0) return;
            if (excused) Excused += unanswered;
            else
            {
                Unanswered += unanswered;
                foreach (var line in outstanding)
                    if (_unansweredExamples.Count < 12) _unansweredExamples.Add(line);
            }
        }
    }

    private void Add(Dictionary<string, (int Count, string First)> into, string kind, string example)
    {
        if (example.Length > 300) example = example[..300] + "…";
        lock (_gate) into[kind] = into.TryGetValue(kind, out var seen) ? (seen.Count + 1, seen.First) : (1, example);
    }

    public static HostileTally Merge(IEnumerable<HostileTally> tallies)
    {
        var merged = new HostileTally();
        foreach (var tally in tallies)
        {
            lock (tally._gate)
            {
                merged.FramesSent += tally.FramesSent;
                merged.BytesSent += tally.BytesSent;
                merged.NotDelivered += tally.NotDelivered;
                merged.Due += tally.Due;
                merged.Unanswered += tally.Unanswered;
                merged.Excused += tally.Excused;
                merged.ExtraNotices += tally.ExtraNotices;
                merged.AnswerWaitsTimedOut += tally.AnswerWaitsTimedOut;
                merged._slowAnswerExample ??= tally._slowAnswerExample;
                merged.Connections += tally.Connections;
                for (var i = 0; i < tally._received.Length; i++) merged._received[i] += tally._received[i];
                Fold(merged._violations, tally._violations);
                Fold(merged._unsolicited, tally._unsolicited);
                foreach (var (k, v) in tally._relayClosedSubscriptions) merged._relayClosedSubscriptions[k] = merged._relayClosedSubscriptions.GetValueOrDefault(k) + v;
                foreach (var (k, v) in tally._closes) merged._closes[k] = merged._closes.GetValueOrDefault(k) + v;
                foreach (var line in tally._unansweredExamples)
                    if (merged._unansweredExamples.Count < 12) merged._unansweredExamples.Add(line);
            }
        }
        return merged;
    }

    private static void Fold(Dictionary<string, (int Count, string First)> into, Dictionary<string, (int Count, string First)> from)
    {
        foreach (var (kind, (count, first)) in from)
            into[kind] = into.TryGetValue(kind, out var seen) ? (seen.Count + count, seen.First) : (count, first);
    }

    /// <summary>Every violation kind with its count and first case; empty when there were none.</summary>
    public List<string> Violations()
    {
        lock (_gate) return _violations.OrderByDescending(v => v.Value.Count).Select(v => $"{v.Value.Count} × {v.Key}; first: {v.Value.First}").ToList();
    }

    public List<string> UnansweredExamples()
    {
        lock (_gate) return [.. _unansweredExamples];
    }

    /// <summary>A few lines for a test's output or a benchmark's notes.</summary>
    public string Describe()
    {
        lock (_gate)
        {
            var text = new StringBuilder();
            text.Append($"{FramesSent:N0} frames ({BytesSent / (1024.0 * 1024):N1} MiB) on {Connections} sockets; {Due:N0} owed an answer: " +
                $"{Answered:N0} answered, {Unanswered:N0} unanswered, {Excused:N0} excused by a close with status and reason; {NotDelivered:N0} not delivered (socket already closed). ");
            text.Append($"Received: {_received[(int)ReplyType.Ok]:N0} OK, {_received[(int)ReplyType.Eose]:N0} EOSE, {_received[(int)ReplyType.Closed]:N0} CLOSED, " +
                $"{_received[(int)ReplyType.Notice]:N0} NOTICE, {_received[(int)ReplyType.Event]:N0} EVENT" +
                $"{(_received[(int)ReplyType.Count] > 0 ? $", {_received[(int)ReplyType.Count]:N0} COUNT" : "")}; {ExtraNotices:N0} NOTICEs beyond those due. ");
            if (AnswerWaitsTimedOut > 0) text.Append($"{AnswerWaitsTimedOut} waits for answers timed out (first: {_slowAnswerExample}). ");
            if (_closes.Count > 0) text.Append("Closed by the relay: " + string.Join(", ", _closes.Select(c => $"{c.Value} × {c.Key}")) + ". ");
            if (_relayClosedSubscriptions.Count > 0) text.Append("Subscriptions the relay CLOSED on its own: " + string.Join(", ", _relayClosedSubscriptions.Select(c => $"{c.Value} × {c.Key}")) + ". ");
            if (_unsolicited.Count > 0) text.Append("Unasked answers: " + string.Join("; ", _unsolicited.Select(u => $"{u.Value.Count} × {u.Key} (first: {u.Value.First})")) + ". ");
            return text.ToString().TrimEnd();
        }
    }
}
