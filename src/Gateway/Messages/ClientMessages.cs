using System.Text.Json;
using NostrRelay.Connections;
using NostrRelay.Framing;
using NostrRelay.Metrics;

namespace NostrRelay.Messages;

/// <summary>Reads a message's verb and hands the message to that verb's handler; answers the verbs this relay does not speak.</summary>
internal sealed class ClientMessages(EventMessageHandler events, ReqMessageHandler reqs, CloseMessageHandler closes, AuthMessageHandler auths, CountMessageHandler counts,
    NegentropyMessageHandler negentropy, RelayMetrics metrics)
{
    public ValueTask HandleAsync(RelayConnection connection, ReadOnlyMemory<byte> frame)
    {
        ClientFrameKind kind;
        try
        {
            var reader = new Utf8JsonReader(frame.Span, FrameReader.Options);
            kind = FrameReader.ReadKind(ref reader);
        }
        catch (JsonException ex)
        {
            connection.Reply(RelayFrames.Notice("invalid: malformed JSON: " + ex.Message));
            return default;
        }

        metrics.Message(kind);
        switch (kind)
        {
            case ClientFrameKind.Event: return events.HandleAsync(connection, frame);
            case ClientFrameKind.Req: return reqs.HandleAsync(connection, frame);
            case ClientFrameKind.Close: return closes.HandleAsync(connection, frame);
            case ClientFrameKind.Count: return counts.HandleAsync(connection, frame);
            case ClientFrameKind.Auth: return auths.HandleAsync(connection, frame);
            case ClientFrameKind.NegentropyOpen or ClientFrameKind.NegentropyMessage or ClientFrameKind.NegentropyClose:
                return negentropy.HandleAsync(connection, frame);
            case ClientFrameKind.Unknown:
                connection.Reply(RelayFrames.Notice("invalid: unknown message type; this relay understands EVENT, REQ, CLOSE, COUNT, AUTH, NEG-OPEN, NEG-MSG and NEG-CLOSE"));
                return default;
            default:
                connection.Reply(RelayFrames.Notice("invalid: a message must be a JSON array starting with its type, e.g. [\"REQ\", ...]"));
                return default;
        }
    }
}
