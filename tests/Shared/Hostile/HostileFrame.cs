using System.Net.WebSockets;

namespace NostrRelay.Testing.Hostile;

/// <summary>What NIP-01 lets the relay answer to one hostile frame.</summary>
public enum AnswerKind
{
    /// <summary>No answer is due (a CLOSE): anything that comes is counted as extra, not as a fault.</summary>
    None,

    /// <summary>A NOTICE (malformed JSON, wrong shapes, binary or oversized messages).</summary>
    Notice,

    /// <summary>No answer is due, but a NOTICE would be fair (a CLOSE whose id is too long, say).</summary>
    MaybeNotice,

    /// <summary><c>["OK", id, ...]</c> for this id: a well-formed EVENT whose id is readable.</summary>
    Ok,

    /// <summary>An OK for this id, or a NOTICE: a readable id inside JSON that is malformed around it.</summary>
    OkOrNotice,

    /// <summary>EOSE or CLOSED for this subscription id.</summary>
    Req,

    /// <summary>EOSE or CLOSED for this subscription id, or a NOTICE (a filter the relay may refuse either way).</summary>
    ReqOrNotice,

    /// <summary>The relay ends the connection with a close frame of this status and a reason (invalid UTF-8: 1007).</summary>
    ConnectionClosed,
}

/// <summary>
/// The answer a frame must get. <see cref="Key"/> is the event id (Ok kinds) or the subscription id (Req kinds).
/// </summary>
public sealed record Expectation(AnswerKind Kind, string? Key = null)
{
    /// <summary>Req only: a REQ that a later CLOSE or REQ of the same id cancels may go unanswered.</summary>
    public bool Optional { get; init; }

    /// <summary>Req kinds: the answer must be CLOSED with this prefix (e.g. "invalid:"); Ok: OK false with it.</summary>
    public string? Prefix { get; init; }

    /// <summary>Ok kinds: the flag the OK must carry (false for every bad event); null when either is fair.</summary>
    public bool? Accepted { get; init; }

    /// <summary>ConnectionClosed: the status the close frame must carry.</summary>
    public WebSocketCloseStatus? CloseStatus { get; init; }

    public static readonly Expectation Nothing = new(AnswerKind.None);
    public static readonly Expectation ANotice = new(AnswerKind.Notice);
    public static readonly Expectation MaybeANotice = new(AnswerKind.MaybeNotice);

    public static Expectation Refused(string eventId) => new(AnswerKind.Ok, eventId) { Accepted = false };
    public static Expectation RefusedOrNotice(string eventId) => new(AnswerKind.OkOrNotice, eventId) { Accepted = false };
    public static Expectation Answered(string subscriptionId) => new(AnswerKind.Req, subscriptionId);
    public static Expectation ClosedAs(string subscriptionId, string prefix) => new(AnswerKind.Req, subscriptionId) { Prefix = prefix };
    public static Expectation AnsweredOrNotice(string subscriptionId) => new(AnswerKind.ReqOrNotice, subscriptionId);
    public static Expectation Utf8Close => new(AnswerKind.ConnectionClosed) { CloseStatus = WebSocketCloseStatus.InvalidPayloadData };
}

/// <summary>
/// One hostile WebSocket message: its bytes (shared between frames where they are large), its type, its
/// category (for the report) and the answer it must get. <see cref="FragmentBytes"/> &gt; 0 sends it in
/// continuation frames of that many bytes.
/// </summary>
public sealed record HostileFrame(string Category, byte[] Bytes, WebSocketMessageType Type, Expectation Expect, int FragmentBytes = 0)
{
    public override string ToString()
    {
        var text = Type == WebSocketMessageType.Text && Bytes.Length <= 96 ? System.Text.Encoding.UTF8.GetString(Bytes) : $"{Bytes.Length:N0} bytes";
        return $"{Category}: {text}";
    }
}

/// <summary>
/// Frames sent back to back. With <see cref="Barrier"/> the sender first waits until every earlier frame of the
/// connection has been answered: a CLOSE flood after the REQs it closes, an invalid-UTF-8 frame that ends the
/// connection after the answers to what came before.
/// </summary>
public sealed record HostileBurst(IReadOnlyList<HostileFrame> Frames, bool Barrier = false);

/// <summary>What one attacker connection sends, burst by burst, paced over the attack.</summary>
public sealed record HostileScript(string Name, IReadOnlyList<HostileBurst> Bursts)
{
    public int FrameCount => Bursts.Sum(b => b.Frames.Count);
}

/// <summary>A connection that opens subscriptions and then stops reading.</summary>
public sealed record SlowConsumerScript(string Name, IReadOnlyList<(string SubscriptionId, byte[] Req)> Requests);

/// <summary>Everything the attack sends, generated from one seed before anything is timed.</summary>
public sealed record HostilePlan(int Seed, IReadOnlyList<HostileScript> Connections, IReadOnlyList<SlowConsumerScript> SlowConsumers)
{
    public int FrameCount => Connections.Sum(c => c.FrameCount) + SlowConsumers.Sum(s => s.Requests.Count);

    public long ByteCount => Connections.Sum(c => c.Bursts.Sum(b => b.Frames.Sum(f => (long)f.Bytes.Length)));

    /// <summary>"N frames (category n, ...)", for the test's output and the benchmark's notes.</summary>
    public string Describe()
    {
        var categories = Connections.SelectMany(c => c.Bursts).SelectMany(b => b.Frames)
            .GroupBy(f => f.Category).OrderByDescending(g => g.Count()).Select(g => $"{g.Key} {g.Count():N0}");
        var slow = SlowConsumers.Count == 0 ? "" : $" and {SlowConsumers.Count} slow consumer{(SlowConsumers.Count == 1 ? "" : "s")} × {SlowConsumers[0].Requests.Count} REQs";
        return $"seed {Seed}: {FrameCount:N0} frames, {ByteCount / (1024.0 * 1024):N1} MiB, over {Connections.Count} attacker connection{(Connections.Count == 1 ? "" : "s")}{slow} " +
            $"({string.Join(", ", categories)})";
    }
}
