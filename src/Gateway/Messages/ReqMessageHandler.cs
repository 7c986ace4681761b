using System.Text.Json;
using NostrRelay.Connections;
using NostrRelay.Framing;
using NostrRelay.Hosting;
using NostrRelay.Policies;
using NostrRelay.Protocol;

namespace NostrRelay.Messages;

/// <summary>
/// <c>["REQ", subscription id, filter…]</c>: filters are read and bounded here (count, values, limit); the
/// connection's <see cref="ConnectionSubscriptions"/> registers them with the shard's subscription grain, which
/// sends stored events, EOSE and then live events.
/// </summary>
internal sealed class ReqMessageHandler(RelayLimits limits, PolicyPipeline policies) : IClientMessageHandler
{
    public RelayLimits Limits => limits;

    public ValueTask HandleAsync(RelayConnection connection, ReadOnlyMemory<byte> frame)
    {
        var subscriptionId = Read(frame.Span, out var filters, out var error);
        if (subscriptionId is null)
        {
            connection.Reply(RelayFrames.Notice(error ?? "invalid: REQ needs a subscription id"));
            return default;
        }
        var refused = error
            ?? (connection.Draining ? "error: relay is shutting down" : null)
            ?? policies.CheckFilters(filters!, connection.Client);
        if (refused is not null)
        {
            // NIP-01: a REQ replaces the subscription of its id, so a refused one ends it too. Closing first drops its
            // deliveries at once, so nothing follows the CLOSED.
            var closing = connection.Subscriptions.CloseAsync(subscriptionId);
            connection.Reply(RelayFrames.Closed(subscriptionId, refused));
            connection.ChallengeIfAuthRequired(refused);
            return closing;
        }
        return connection.Subscriptions.OpenAsync(subscriptionId, filters!);
    }

    /// <summary>The subscription id (null when unreadable) and either the filters or the reason they are refused.</summary>
    private string? Read(ReadOnlySpan<byte> frame, out Filter[]? filters, out string? error)
    {
        filters = null;
        string? subscriptionId = null;
        try
        {
            var reader = new Utf8JsonReader(frame, FrameReader.Options);
            FrameReader.ReadKind(ref reader);
            if (!FrameReader.TryReadSubscriptionId(ref reader, limits, out subscriptionId, out error)) return subscriptionId;
            FrameReader.TryReadFilters(ref reader, limits, out filters, out error);
            return subscriptionId;
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            error = "invalid: malformed JSON: " + ex.Message;
            return subscriptionId;
        }
    }
}
