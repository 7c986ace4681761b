using System.Text.Json;
using NostrRelay.Connections;
using NostrRelay.Framing;
using NostrRelay.Hosting;

namespace NostrRelay.Messages;

/// <summary><c>["CLOSE", subscription id]</c>: ends one REQ. NIP-01 asks no answer; an unknown id is simply done.</summary>
internal sealed class CloseMessageHandler(RelayLimits limits) : IClientMessageHandler
{
    public ValueTask HandleAsync(RelayConnection connection, ReadOnlyMemory<byte> frame)
    {
        if (!TryRead(frame.Span, out var subscriptionId, out var error))
        {
            connection.Reply(RelayFrames.Notice(error));
            return default;
        }
        return connection.Subscriptions.CloseAsync(subscriptionId);
    }

    private bool TryRead(ReadOnlySpan<byte> frame, out string subscriptionId, out string error)
    {
        subscriptionId = "";
        try
        {
            var reader = new Utf8JsonReader(frame, FrameReader.Options);
            FrameReader.ReadKind(ref reader);
            if (!FrameReader.TryReadSubscriptionId(ref reader, limits, out var id, out var idError))
            {
                error = idError ?? "invalid: CLOSE needs a subscription id";
                return false;
            }
            if (!reader.Read() || reader.TokenType != JsonTokenType.EndArray)
            {
                error = "invalid: CLOSE takes exactly one subscription id";
                return false;
            }
            subscriptionId = id!;
            error = "";
            return true;
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            error = "invalid: malformed JSON: " + ex.Message;
            return false;
        }
    }
}
