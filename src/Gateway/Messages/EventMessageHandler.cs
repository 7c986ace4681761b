using System.Text.Json;
using NostrRelay.Connections;
using NostrRelay.Crypto;
using NostrRelay.Framing;
using NostrRelay.Hosting;
using NostrRelay.Policies;
using NostrRelay.Protocol;

namespace NostrRelay.Messages;

/// <summary>
/// <c>["EVENT", event]</c>: shape, limits, id, signature and the policies (<see cref="PolicyPipeline"/>) are checked
/// here at the edge, before any grain call; a good event goes to its author's grain through the connection's <see cref="EventsInFlight"/>, and its OK
/// follows the durable commit.
/// </summary>
internal sealed class EventMessageHandler(RelayLimits limits, EventVerifier verifier, PolicyPipeline policies) : IClientMessageHandler
{
    public ValueTask HandleAsync(RelayConnection connection, ReadOnlyMemory<byte> frame)
    {
        if (!TryRead(frame.Span, out var evt, out var error, out var malformed))
        {
            var id = FrameReader.PeekEventId(frame.Span);
            if (id is not null) connection.RefuseEvent(id, malformed ? "invalid: malformed event JSON" : error);
            else connection.Reply(RelayFrames.Notice(error));
            return default;
        }
        if (evt.Content.Length > limits.MaxContentLength && CountRunes(evt.Content) > limits.MaxContentLength)
        {
            connection.RefuseEvent(evt.Id, $"invalid: content is longer than {limits.MaxContentLength} characters");
            return default;
        }
        if (connection.Draining)
        {
            connection.RefuseEvent(evt.Id, "error: relay is shutting down; send it again after reconnecting");
            return default;
        }
        if (verifier.Check(evt) is { } problem)
        {
            connection.RefuseEvent(evt.Id, problem);
            return default;
        }
        var verdict = policies.CheckEventAsync(evt, connection.Client);
        if (verdict.IsCompletedSuccessfully)
        {
            // Read once: a ValueTask is consumed by one read, so what goes on is a fresh one holding the result.
            var decided = verdict.Result;
            if (decided.IsRejected && !decided.IsShadowRejected)
            {
                connection.RefuseEvent(evt.Id, decided.Message!);
                connection.ChallengeIfAuthRequired(decided.Message!);
                return default;
            }
            return connection.Events.SubmitAsync(evt, ValueTask.FromResult(decided));
        }
        return connection.Events.SubmitAsync(evt, verdict);
    }

    private bool TryRead(ReadOnlySpan<byte> frame, out NostrEvent evt, out string error, out bool malformed)
    {
        malformed = false;
        try
        {
            var reader = new Utf8JsonReader(frame, FrameReader.Options);
            FrameReader.ReadKind(ref reader);
            if (FrameReader.TryReadEvent(ref reader, limits, out var read, out var problem))
            {
                evt = read!;
                error = "";
                return true;
            }
            error = problem!;
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            error = "invalid: malformed JSON: " + ex.Message;
            malformed = true;
        }
        evt = null!;
        return false;
    }

    private static int CountRunes(string text)
    {
        var count = 0;
        foreach (var _ in text.EnumerateRunes()) count++;
        return count;
    }
}
