using System.Text.Json;
using NostrRelay.Connections;
using NostrRelay.Framing;
using NostrRelay.Grains;
using NostrRelay.Hosting;
using NostrRelay.Policies;
using NostrRelay.Protocol;

namespace NostrRelay.Messages;

/// <summary>
/// <c>["COUNT", query id, filter…]</c> (NIP-45): the filters are read and bounded as a REQ's are and pass the same
/// read policies (AUTH, private kinds, the embedder's); the count runs on a count grain, and the answer is
/// <c>["COUNT", id, {"count": n}]</c>, with <c>hll</c> when the filters allow one, or <c>CLOSED</c> with the reason.
/// </summary>
internal sealed class CountMessageHandler(RelayLimits limits, PolicyPipeline policies) : IClientMessageHandler
{
    public ValueTask HandleAsync(RelayConnection connection, ReadOnlyMemory<byte> frame)
    {
        var queryId = Read(frame.Span, out var filters, out var error);
        if (queryId is null)
        {
            connection.Reply(RelayFrames.Notice(error ?? "invalid: COUNT needs a query id"));
            return default;
        }
        // NIP-45 derives the HyperLogLog offset from the filters as the client sent them, before any rewrite.
        var hllOffset = error is null ? CountRequest.HllOffsetFor(filters!) : null;
        var refused = error
            ?? (connection.Draining ? "error: relay is shutting down" : null)
            ?? policies.CheckFilters(filters!, connection.Client);
        if (refused is not null)
        {
            connection.Reply(RelayFrames.Closed(queryId, refused));
            connection.ChallengeIfAuthRequired(refused);
            return default;
        }
        var (privateKinds, parties) = policies.CountScope(connection.Client);
        return connection.Counts.SubmitAsync(queryId, new CountRequest(filters!, privateKinds, parties, hllOffset));
    }

    /// <summary>The query id (null when unreadable) and either the filters or the reason they are refused.</summary>
    private string? Read(ReadOnlySpan<byte> frame, out Filter[]? filters, out string? error)
    {
        filters = null;
        string? queryId = null;
        try
        {
            var reader = new Utf8JsonReader(frame, FrameReader.Options);
            FrameReader.ReadKind(ref reader);
            if (!FrameReader.TryReadSubscriptionId(ref reader, limits, out queryId, out error)) return queryId;
            if (!FrameReader.TryReadFilters(ref reader, limits, out filters, out error))
                error = error?.Replace("REQ", "COUNT", StringComparison.Ordinal);
            return queryId;
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            error = "invalid: malformed JSON: " + ex.Message;
            return queryId;
        }
    }
}
