using System.Diagnostics;
using System.Net.WebSockets;

namespace NostrRelay.Testing.Hostile;

/// <summary>How long an attacker waits for answers, a close, a send.</summary>
public sealed class HostileTimeouts
{
    /// <summary>At a barrier (and for each frame sent one at a time): the answers to everything sent so far.</summary>
    public TimeSpan Answers { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>At the end of the script: what is still owed after this is unanswered. Default: <see cref="Answers"/>.</summary>
    public TimeSpan? FinalAnswers { get; init; }

    /// <summary>After a frame that must end the connection (invalid UTF-8): the relay's close frame.</summary>
    public TimeSpan Close { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>One send (a relay that stops reading a socket makes sends wait).</summary>
    public TimeSpan Send { get; init; } = TimeSpan.FromSeconds(20);

    public TimeSpan Connect { get; init; } = TimeSpan.FromSeconds(10);
}

/// <summary>
/// One attacker: sends its script burst by burst, spread evenly over the attack window, reading every answer
/// concurrently and matching it (<see cref="AnswerLedger"/>). When the relay closes the socket (as it must after
/// invalid UTF-8, or may for its own reasons) the attacker reconnects and goes on with the next frame; what was
/// still owed on the closed socket is excused if the close carried a status and a reason, else unanswered.
/// <para>
/// <paramref name="oneAtATime"/> waits for each frame's answer before the next: slower, but a missing answer is then
/// pinned to its frame (concurrently, NOTICEs can only be counted).
/// </para>
/// </summary>
public sealed class HostileConnection(Uri relay, HostileScript script, HostileTimeouts timeouts, bool oneAtATime = false)
{
    private volatile string _activity = "not started";
    private int _sent;

    public HostileScript Script { get; } = script;
    public HostileTally Tally { get; } = new();

    /// <summary>True once the whole script was sent and its answers waited for.</summary>
    public bool Done { get; private set; }

    /// <summary>Where the script is, for a failure message when the attack had to be cut short.</summary>
    public string Activity => $"{Script.Name}: sent {Volatile.Read(ref _sent):N0} of {Script.FrameCount:N0} frames; {_activity}";

    /// <summary>
    /// Sends the script, burst b due at <paramref name="startTimestamp"/> + b/count of <paramref name="window"/>.
    /// Cancelling ends it early: what its socket still owed is then counted as unanswered.
    /// </summary>
    public async Task RunAsync(long startTimestamp, TimeSpan window, CancellationToken cancellationToken)
    {
        var bursts = Script.Bursts;
        Socket? socket = null;
        try
        {
            for (var b = 0; b < bursts.Count; b++)
            {
                // Pacing the sends (not waiting for frames): burst b is due at start + b/count of the window.
                var due = startTimestamp + (long)(window.TotalSeconds * Stopwatch.Frequency * b / bursts.Count);
                var wait = (due - Stopwatch.GetTimestamp()) * 1000 / Stopwatch.Frequency;
                if (wait > 1) await Task.Delay(TimeSpan.FromMilliseconds(wait), cancellationToken);

                var burst = bursts[b];
                if (burst.Barrier && socket is not null && !socket.Ended.IsCompleted)
                {
                    _activity = $"waiting for answers before burst {b + 1} of {bursts.Count}";
                    await WaitForAnswersAsync(socket, "before a burst that needs them", cancellationToken);
                }
                _activity = $"sending burst {b + 1} of {bursts.Count}";
                foreach (var frame in burst.Frames)
                {
                    if (socket is not null && socket.Ended.IsCompleted)
                    {
                        await EndAsync(socket, closer: null);
                        socket = null;
                    }
                    socket ??= await ConnectAsync(cancellationToken);
                    if (socket is null) return;   // the relay no longer accepts connections: said so, nothing more to send
                    var owedBefore = socket.Ledger.Count().Unanswered;
                    socket.Ledger.Expect(frame);
                    Tally.Sent(frame);
                    Interlocked.Increment(ref _sent);
                    if (!await SendAsync(socket, frame, cancellationToken))
                    {
                        socket.Ledger.Withdraw(frame);
                        Tally.Withdrawn();
                        continue;
                    }
                    if (oneAtATime && OwesAnswer(frame.Expect) && !await socket.Ledger.WaitUnansweredAtMostAsync(owedBefore, timeouts.Answers, socket.Ended, cancellationToken)
                        && !socket.Ended.IsCompleted && !cancellationToken.IsCancellationRequested)
                        Tally.Violation($"no answer within {timeouts.Answers.TotalSeconds:0} s to a frame sent on its own", $"{Describe(frame)}; owed: {string.Join(" | ", socket.Ledger.Outstanding(2))}");
                    if (frame.Expect.Kind == AnswerKind.ConnectionClosed)
                    {
                        _activity = $"waiting for the relay to close the connection after burst {b + 1} of {bursts.Count}";
                        await Task.WhenAny(socket.Ended, Task.Delay(timeouts.Close, cancellationToken));
                        await EndAsync(socket, closer: frame);
                        socket = null;
                    }
                }
            }
            if (socket is not null)
            {
                _activity = "waiting for the last answers";
                if (!socket.Ended.IsCompleted) await WaitForAnswersAsync(socket, "at the end of the script", cancellationToken, timeouts.FinalAnswers);
                cancellationToken.ThrowIfCancellationRequested();
                await EndAsync(socket, closer: null);
                socket = null;
            }
            _activity = "done";
            Done = true;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            Tally.Violation("the attack was stopped before this connection's script was done", Activity);
            if (socket is not null)
            {
                await EndAsync(socket, closer: null);
                socket = null;
            }
        }
        finally
        {
            if (socket is not null) await socket.CloseAsync();
        }
    }

    private static bool OwesAnswer(Expectation expect) =>
        expect.Kind is AnswerKind.Notice or AnswerKind.Ok or AnswerKind.OkOrNotice
        || (expect.Kind is AnswerKind.Req or AnswerKind.ReqOrNotice && !expect.Optional);

    private static string Describe(HostileFrame frame) =>
        frame.Type == WebSocketMessageType.Text && frame.Bytes.Length <= 200 ? frame.ToString()
        : $"{frame.Category}: {(frame.Type == WebSocketMessageType.Text ? System.Text.Encoding.UTF8.GetString(frame.Bytes, 0, 120) + "…" : "binary")} ({frame.Bytes.Length:N0} bytes)";

    private async Task WaitForAnswersAsync(Socket socket, string when, CancellationToken cancellationToken, TimeSpan? timeout = null)
    {
        if (await socket.Ledger.WaitSettledAsync(timeout ?? timeouts.Answers, socket.Ended, cancellationToken) || socket.Ended.IsCompleted) return;
        cancellationToken.ThrowIfCancellationRequested();
        // Not a fault by itself: the answers may still come (they are matched whenever they do); what never comes is counted as unanswered.
        Tally.SlowAnswers($"{when}: {string.Join(" | ", socket.Ledger.Outstanding(3))}");
    }

    /// <summary>A new socket; null (and a violation) when the relay refuses or does not answer.</summary>
    private async Task<Socket?> ConnectAsync(CancellationToken cancellationToken)
    {
        var client = new ClientWebSocket();
        client.Options.KeepAliveInterval = TimeSpan.Zero;   // the relay pings; this client only answers
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(timeouts.Connect);
        try
        {
            await client.ConnectAsync(relay, timeout.Token);
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            client.Dispose();
            Tally.Violation("the relay stopped accepting connections (is it still running?)", $"{Script.Name} to {relay}: {ex.Message}");
            return null;
        }
        Tally.Connected();
        return new Socket(client, new AnswerLedger(Tally));
    }

    /// <summary>False when the socket was already closed (or closed during the send): the frame did not reach the relay.</summary>
    private async Task<bool> SendAsync(Socket socket, HostileFrame frame, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(timeouts.Send);
        try
        {
            if (frame.FragmentBytes <= 0)
            {
                await socket.Client.SendAsync(frame.Bytes, frame.Type, endOfMessage: true, timeout.Token);
                return true;
            }
            for (var offset = 0; offset < frame.Bytes.Length; offset += frame.FragmentBytes)
            {
                var length = Math.Min(frame.FragmentBytes, frame.Bytes.Length - offset);
                await socket.Client.SendAsync(frame.Bytes.AsMemory(offset, length), frame.Type, offset + length == frame.Bytes.Length, timeout.Token);
            }
            return true;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            Tally.Violation($"a send did not complete in {timeouts.Send.TotalSeconds:0} s (the relay stopped reading this socket)", frame.ToString());
            socket.Client.Abort();
            await socket.Ended;
            return false;
        }
        catch (Exception ex) when (ex is WebSocketException or ObjectDisposedException or IOException)
        {
            await Task.WhenAny(socket.Ended, Task.Delay(timeouts.Close, cancellationToken));
            return false;
        }
    }

    /// <summary>Settles a socket: how it ended (checked against <paramref name="closer"/>), what it still owed.</summary>
    private async Task EndAsync(Socket socket, HostileFrame? closer)
    {
        var relayClosed = socket.Ended.IsCompleted && !socket.ClosedByUs;
        if (!relayClosed) await socket.CloseAsync();
        var (due, unanswered) = socket.Ledger.Count();
        var status = socket.CloseStatus;
        var reason = socket.CloseReason;
        var properClose = relayClosed && status is not null && !string.IsNullOrWhiteSpace(reason);
        if (closer is not null)
        {
            var expected = closer.Expect.CloseStatus;
            if (!relayClosed)
                Tally.Violation($"the connection stayed open after a frame that must end it with {(int?)expected} {expected}", closer.ToString());
            else if (status != expected || string.IsNullOrWhiteSpace(reason))
                Tally.Violation($"{closer.Category} must end the connection with {(int?)expected} {expected} and a reason",
                    $"got {(status is { } s ? $"{(int)s} {s}" : "no close frame (1006)")} \"{reason}\" after {closer}");
        }
        else if (relayClosed && !properClose)
        {
            Tally.Violation("the relay ended a connection without a close status and reason",
                $"{(status is { } s ? $"{(int)s} {s}" : "no close frame (1006)")} \"{reason}\"; still owed: {string.Join(" | ", socket.Ledger.Outstanding(3))}");
        }
        if (relayClosed) Tally.Closed(status, reason);
        Tally.Settle(due, unanswered, excused: properClose, socket.Ledger.ExtraNotices(), unanswered > 0 ? socket.Ledger.Outstanding() : []);
    }

    /// <summary>One WebSocket and the loop reading it.</summary>
    private sealed class Socket
    {
        private readonly TaskCompletionSource _ended = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Socket(ClientWebSocket client, AnswerLedger ledger)
        {
            Client = client;
            Ledger = ledger;
            _ = Task.Run(ReceiveAsync);
        }

        public ClientWebSocket Client { get; }
        public AnswerLedger Ledger { get; }
        public Task Ended => _ended.Task;
        public bool ClosedByUs { get; private set; }
        public WebSocketCloseStatus? CloseStatus { get; private set; }
        public string? CloseReason { get; private set; }

        private async Task ReceiveAsync()
        {
            var buffer = new byte[64 * 1024];
            try
            {
                while (true)
                {
                    var length = 0;
                    ValueWebSocketReceiveResult result;
                    do
                    {
                        if (length == buffer.Length) Array.Resize(ref buffer, buffer.Length * 2);
                        result = await Client.ReceiveAsync(buffer.AsMemory(length), CancellationToken.None);
                        if (result.MessageType == WebSocketMessageType.Close)
                        {
                            CloseStatus = Client.CloseStatus;
                            CloseReason = Client.CloseStatusDescription;
                            try
                            {
                                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                                await Client.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "", timeout.Token);
                            }
                            catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or ObjectDisposedException)
                            {
                            }
                            return;
                        }
                        length += result.Count;
                    }
                    while (!result.EndOfMessage);
                    Ledger.OnReply(RelayReply.Parse(buffer.AsSpan(0, length)));
                }
            }
            catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or ObjectDisposedException or IOException)
            {
                CloseStatus ??= Client.CloseStatus;
                CloseReason ??= Client.CloseStatusDescription;
            }
            finally
            {
                _ended.TrySetResult();
            }
        }

        /// <summary>Our side ends it: a close frame, a short wait for the relay's, then the socket is gone.</summary>
        public async Task CloseAsync()
        {
            if (!Ended.IsCompleted) ClosedByUs = true;
            try
            {
                if (Client.State == WebSocketState.Open)
                {
                    using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                    await Client.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "", timeout.Token);
                }
            }
            catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or ObjectDisposedException)
            {
            }
            await Task.WhenAny(Ended, Task.Delay(TimeSpan.FromSeconds(2)));
            Client.Abort();
            Client.Dispose();
            await Ended;
        }
    }
}
