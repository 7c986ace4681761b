namespace NostrRelay.Testing.Hostile;

/// <summary>
/// The answers one WebSocket still owes, matched as they come: OK by event id, EOSE or CLOSED by subscription id,
/// NOTICEs by count (they name nothing). Answers to different frames may come in any order (a REQ's EOSE comes
/// after later frames' NOTICEs), so nothing is matched by position. A REQ that a later CLOSE or REQ of the same
/// id cancels may go unanswered (optional). Thread-safe: the sender adds, the receive loop matches.
/// </summary>
internal sealed class AnswerLedger(HostileTally tally)
{
    private readonly object _gate = new();
    private readonly Dictionary<string, List<HostileFrame>> _oks = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<HostileFrame>> _reqs = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _noticeCategories = new(StringComparer.Ordinal);
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _due;                // frames that must be answered
    private int _directPending;      // Ok and required Req frames not answered yet
    private int _flexiblePending;    // OkOrNotice and ReqOrNotice frames not answered by OK, EOSE or CLOSED
    private int _noticesDue;
    private int _noticesMaybe;
    private int _noticesReceived;

    public bool Settled
    {
        get { lock (_gate) return IsSettled; }
    }

    private bool IsSettled => _directPending == 0 && _noticesReceived >= _noticesDue + _flexiblePending;

    /// <summary>Frames that had to be answered, and how many of them are not (NOTICEs counted, not named).</summary>
    public (int Due, int Unanswered) Count()
    {
        lock (_gate) return (_due, _directPending + Math.Max(0, _noticesDue + _flexiblePending - _noticesReceived));
    }

    /// <summary>NOTICEs beyond those due or allowed: answers to frames that needed none, or a second answer.</summary>
    public int ExtraNotices()
    {
        lock (_gate) return Math.Max(0, _noticesReceived - _noticesDue - _flexiblePending - _noticesMaybe);
    }

    public void Expect(HostileFrame frame) => Change(frame, +1);

    /// <summary>The frame never reached the relay (its send failed): it is owed nothing.</summary>
    public void Withdraw(HostileFrame frame) => Change(frame, -1);

    private void Change(HostileFrame frame, int sign)
    {
        var expect = frame.Expect;
        lock (_gate)
        {
            switch (expect.Kind)
            {
                case AnswerKind.Notice:
                    _noticesDue += sign;
                    _due += sign;
                    _noticeCategories[frame.Category] = _noticeCategories.GetValueOrDefault(frame.Category) + sign;
                    break;
                case AnswerKind.MaybeNotice:
                    _noticesMaybe += sign;
                    break;
                case AnswerKind.Ok or AnswerKind.OkOrNotice:
                    _due += sign;
                    if (expect.Kind == AnswerKind.Ok) _directPending += sign;
                    else _flexiblePending += sign;
                    Track(_oks, expect.Key!, frame, sign);
                    break;
                case AnswerKind.Req or AnswerKind.ReqOrNotice:
                    if (!expect.Optional)
                    {
                        _due += sign;
                        if (expect.Kind == AnswerKind.Req) _directPending += sign;
                        else _flexiblePending += sign;
                    }
                    Track(_reqs, expect.Key!, frame, sign);
                    break;
            }
        }
        Signal();
    }

    private static void Track(Dictionary<string, List<HostileFrame>> pending, string key, HostileFrame frame, int sign)
    {
        if (sign > 0)
        {
            if (!pending.TryGetValue(key, out var list)) pending[key] = list = new List<HostileFrame>(1);
            list.Add(frame);
        }
        else if (pending.TryGetValue(key, out var list))
        {
            list.Remove(frame);
            if (list.Count == 0) pending.Remove(key);
        }
    }

    public void OnReply(RelayReply reply)
    {
        tally.Received(reply.Type);
        if (reply.Type is ReplyType.Event or ReplyType.Auth) return;   // events on the attackers' own subscriptions, challenges: counted only
        lock (_gate)
        {
            switch (reply.Type)
            {
                case ReplyType.Ok: MatchOk(reply); break;
                case ReplyType.Eose or ReplyType.Closed or ReplyType.Count: MatchReq(reply); break;
                case ReplyType.Notice:
                    _noticesReceived++;
                    if (string.IsNullOrWhiteSpace(reply.Message)) tally.Violation("NOTICE with an empty message", "");
                    else if (!RelayReply.HasPrefix(reply.Message)) tally.Violation("NOTICE without a NIP-01 prefix (invalid: ...)", reply.Message);
                    break;
                case ReplyType.Other:
                    tally.Violation("a message that is not NIP-01 or NIP-42 (EVENT, OK, EOSE, CLOSED, NOTICE, AUTH)", reply.Message ?? "");
                    break;
            }
        }
        Signal();
    }

    private void MatchOk(RelayReply reply)
    {
        if (!reply.Accepted && !RelayReply.HasPrefix(reply.Message)) tally.Violation("OK false without a NIP-01 prefix", reply.Message ?? "(none)");
        if (reply.Key is null || !_oks.TryGetValue(reply.Key, out var list))
        {
            tally.Unsolicited($"OK {(reply.Accepted ? "true" : "false")} for an event id no frame carried", reply.ToString());
            return;
        }
        var frame = list[0];
        list.RemoveAt(0);
        if (list.Count == 0) _oks.Remove(reply.Key);
        if (frame.Expect.Kind == AnswerKind.Ok) _directPending--;
        else _flexiblePending--;
        if (frame.Expect.Accepted is { } accepted && accepted != reply.Accepted)
            tally.Violation(accepted ? "a valid event refused" : "a bad event accepted (OK true)", $"{frame} → {reply}");
        else if (!reply.Accepted && frame.Expect.Prefix is { } prefix && reply.Message?.StartsWith(prefix, StringComparison.Ordinal) != true)
            tally.Violation($"OK false without the prefix {prefix}", $"{frame} → {reply}");
    }

    private void MatchReq(RelayReply reply)
    {
        if (reply.Type == ReplyType.Closed && !RelayReply.HasPrefix(reply.Message)) tally.Violation("CLOSED without a NIP-01 prefix", reply.Message ?? "(none)");
        if (reply.Key is null || !_reqs.TryGetValue(reply.Key, out var list))
        {
            // The relay may close a subscription on its own (a slow reader): CLOSED with a reason, never EOSE.
            if (reply.Type == ReplyType.Closed && RelayReply.HasPrefix(reply.Message)) tally.RelayClosedSubscription(reply.Message!);
            else tally.Unsolicited($"{reply.Type} for a subscription id no REQ is waiting on", reply.ToString());
            return;
        }
        // A required answer first (strict, then flexible): an optional REQ's answer may never come.
        var index = list.FindIndex(f => !f.Expect.Optional && f.Expect.Kind == AnswerKind.Req);
        if (index < 0) index = list.FindIndex(f => !f.Expect.Optional);
        if (index < 0) index = 0;
        var frame = list[index];
        list.RemoveAt(index);
        if (list.Count == 0) _reqs.Remove(reply.Key);
        if (!frame.Expect.Optional)
        {
            if (frame.Expect.Kind == AnswerKind.Req) _directPending--;
            else _flexiblePending--;
        }
        if (frame.Expect.Prefix is { } prefix)
        {
            if (reply.Type != ReplyType.Closed) tally.Violation($"REQ answered with {reply.Type.ToString().ToUpperInvariant()} where CLOSED \"{prefix} ...\" was due", Describe(frame));
            else if (reply.Message?.StartsWith(prefix, StringComparison.Ordinal) != true)
                tally.Violation($"REQ CLOSED without the prefix {prefix}", $"{Describe(frame)} → {reply.Message}");
        }
    }

    private static string Describe(HostileFrame frame) =>
        frame.Bytes.Length <= 120 ? frame.ToString() : $"{frame.Category}: {System.Text.Encoding.UTF8.GetString(frame.Bytes, 0, 100)}… ({frame.Bytes.Length:N0} bytes)";

    /// <summary>What is still owed, for a failure message: the frames by description, NOTICEs by count and category.</summary>
    public List<string> Outstanding(int max = 8)
    {
        lock (_gate)
        {
            var lines = new List<string>();
            foreach (var frame in _oks.Values.SelectMany(l => l).Where(f => f.Expect.Kind == AnswerKind.Ok).Take(max)) lines.Add("OK for " + Describe(frame));
            foreach (var frame in _reqs.Values.SelectMany(l => l).Where(f => !f.Expect.Optional && f.Expect.Kind == AnswerKind.Req).Take(max))
                lines.Add("EOSE/CLOSED for " + Describe(frame));
            var notices = _noticesDue + _flexiblePending - _noticesReceived;
            if (notices > 0)
            {
                var flexible = _oks.Values.SelectMany(l => l).Concat(_reqs.Values.SelectMany(l => l))
                    .Where(f => f.Expect.Kind is AnswerKind.OkOrNotice or AnswerKind.ReqOrNotice && !f.Expect.Optional).Take(max).Select(Describe);
                lines.Add($"{notices} NOTICE(s) (NOTICE was due for {string.Join(", ", _noticeCategories.Where(c => c.Value > 0).Select(c => $"{c.Value} {c.Key}"))}" +
                    $"{(_flexiblePending > 0 ? $"; unanswered OK-or-NOTICE / REQ-or-NOTICE frames: {string.Join(" | ", flexible)}" : "")})");
            }
            return lines;
        }
    }

    /// <summary>Waits until nothing is owed, the socket ends, or the timeout; true when settled.</summary>
    public Task<bool> WaitSettledAsync(TimeSpan timeout, Task ended, CancellationToken cancellationToken) =>
        WaitUntilAsync(() => IsSettled, timeout, ended, cancellationToken);

    /// <summary>Waits until at most <paramref name="unanswered"/> frames are owed an answer (the one just sent is answered).</summary>
    public Task<bool> WaitUnansweredAtMostAsync(int unanswered, TimeSpan timeout, Task ended, CancellationToken cancellationToken) =>
        WaitUntilAsync(() => _directPending + Math.Max(0, _noticesDue + _flexiblePending - _noticesReceived) <= unanswered, timeout, ended, cancellationToken);

    private async Task<bool> WaitUntilAsync(Func<bool> condition, TimeSpan timeout, Task ended, CancellationToken cancellationToken)
    {
        var deadline = Task.Delay(timeout, cancellationToken);
        while (true)
        {
            Task changed;
            lock (_gate)
            {
                if (condition()) return true;
                changed = _changed.Task;
            }
            var done = await Task.WhenAny(changed, ended, deadline);
            if (done == ended || done == deadline)
            {
                lock (_gate) return condition();
            }
        }
    }

    private void Signal()
    {
        TaskCompletionSource changed;
        lock (_gate)
        {
            changed = _changed;
            _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }
        changed.TrySetResult();
    }
}
