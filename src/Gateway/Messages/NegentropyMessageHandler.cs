using System.Buffers;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using NostrRelay.Connections;
using NostrRelay.Framing;
using NostrRelay.Grains;
using NostrRelay.Hosting;
using NostrRelay.Policies;
using NostrRelay.Protocol;

namespace NostrRelay.Messages;

/// <summary>
/// NIP-77 negentropy: <c>["NEG-OPEN", id, filter, hex]</c>, <c>["NEG-MSG", id, hex]</c> and <c>["NEG-CLOSE", id]</c>.
/// A NEG-OPEN's filter passes the same read policies as a REQ's (AUTH, private kinds, the embedder's), so a
/// reconciliation never names an event the connection could not read; what cannot be served is a <c>NEG-ERR</c>.
/// </summary>
internal sealed class NegentropyMessageHandler(RelayLimits limits, PolicyPipeline policies, IOptions<RelayOptions> relayOptions,
    NegentropyBudget budget, IGrainFactory grains, ILogger<NegentropySessions> logger) : IClientMessageHandler
{
    private readonly RelayNegentropyOptions _options = relayOptions.Value.Negentropy;

    public ValueTask HandleAsync(RelayConnection connection, ReadOnlyMemory<byte> frame)
    {
        string? subscriptionId = null;
        try
        {
            var reader = new Utf8JsonReader(frame.Span, FrameReader.Options);
            var kind = FrameReader.ReadKind(ref reader);
            if (!FrameReader.TryReadSubscriptionId(ref reader, limits, out subscriptionId, out var error))
            {
                if (subscriptionId is null) connection.Reply(RelayFrames.Notice(error!));
                else connection.Reply(RelayFrames.NegentropyError(subscriptionId, error!));
                return default;
            }
            switch (kind)
            {
                case ClientFrameKind.NegentropyOpen: Open(connection, subscriptionId!, ref reader); break;
                case ClientFrameKind.NegentropyMessage: Continue(connection, subscriptionId!, ref reader); break;
                default: connection.Negentropy?.Close(subscriptionId!); break;
            }
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            var message = "invalid: malformed JSON: " + ex.Message;
            connection.Reply(subscriptionId is null ? RelayFrames.Notice(message) : RelayFrames.NegentropyError(subscriptionId, message));
        }
        return default;
    }

    private void Open(RelayConnection connection, string subscriptionId, ref Utf8JsonReader reader)
    {
        if (!_options.Enabled)
        {
            connection.Reply(RelayFrames.NegentropyError(subscriptionId, "blocked: negentropy syncing (NIP-77) is not enabled on this relay"));
            return;
        }
        // A NEG-OPEN replaces the session of its id, refused or not.
        connection.Negentropy?.Close(subscriptionId);
        if (!reader.Read()) throw new JsonException("NEG-OPEN ends after its id");
        if (!FrameReader.TryReadFilter(ref reader, limits, out var filter, out var error, boundedLimit: false))
        {
            connection.Reply(RelayFrames.NegentropyError(subscriptionId, error!.Replace("REQ", "NEG-OPEN", StringComparison.Ordinal)));
            return;
        }
        if (!TryReadMessage(ref reader, out var initial, out error))
        {
            connection.Reply(RelayFrames.NegentropyError(subscriptionId, error!));
            return;
        }
        Filter[] filters = [filter!];   // rewritten in place by the embedder's RewriteFilter hooks
        var refused = (connection.Draining ? "closed: relay is shutting down" : null)
            ?? (policies.HasEmbedderDeliveryHooks ? "blocked: this relay decides per event who may read it, so it does not reconcile" : null)
            ?? policies.CheckFilters(filters, connection.Client);
        if (refused is not null)
        {
            connection.Reply(RelayFrames.NegentropyError(subscriptionId, refused));
            connection.ChallengeIfAuthRequired(refused);
            return;
        }
        var (privateKinds, parties) = policies.CountScope(connection.Client);
        connection.Negentropy ??= new NegentropySessions(grains, connection.Calls, _options, budget, connection.Reply,
            () => connection.Outbound.QueuedBytes > relayOptions.Value.MaxOutboundBytes / 4, logger);
        connection.Negentropy.Open(subscriptionId, new NegentropyRequest(filters[0], _options.MaxRecords, privateKinds, parties), initial!);
    }

    private static void Continue(RelayConnection connection, string subscriptionId, ref Utf8JsonReader reader)
    {
        if (!TryReadMessage(ref reader, out var message, out var error))
        {
            connection.Negentropy?.Close(subscriptionId);
            connection.Reply(RelayFrames.NegentropyError(subscriptionId, error!));
            return;
        }
        if (connection.Negentropy is null)
            connection.Reply(RelayFrames.NegentropyError(subscriptionId, "closed: no negentropy session is open with this id; send NEG-OPEN"));
        else connection.Negentropy.Message(subscriptionId, message!);
    }

    /// <summary>The next element: a negentropy message in hex.</summary>
    private static bool TryReadMessage(ref Utf8JsonReader reader, out byte[]? message, out string? error)
    {
        message = null;
        if (!reader.Read() || reader.TokenType != JsonTokenType.String)
        {
            error = "invalid: the negentropy message must be a hex string";
            return false;
        }
        var text = reader.ValueIsEscaped ? reader.GetString()! : null;
        var length = text?.Length ?? reader.ValueSpan.Length;
        if (length == 0 || length % 2 != 0)
        {
            error = "invalid: the negentropy message must be a non-empty hex string of whole bytes";
            return false;
        }
        var bytes = new byte[length / 2];
        var status = text is not null
            ? Convert.FromHexString(text, bytes, out _, out _)
            : FromHex(reader.ValueSpan, bytes);
        if (status != OperationStatus.Done)
        {
            error = "invalid: the negentropy message is not hex";
            return false;
        }
        message = bytes;
        error = null;
        return true;
    }

    private static OperationStatus FromHex(ReadOnlySpan<byte> utf8, Span<byte> bytes)
    {
        for (var i = 0; i < bytes.Length; i++)
        {
            var high = Digit(utf8[2 * i]);
            var low = Digit(utf8[2 * i + 1]);
            if ((high | low) < 0) return OperationStatus.InvalidData;
            bytes[i] = (byte)((high << 4) | low);
        }
        return OperationStatus.Done;
    }

    private static int Digit(byte c) => c switch
    {
        >= (byte)'0' and <= (byte)'9' => c - '0',
        >= (byte)'a' and <= (byte)'f' => c - 'a' + 10,
        >= (byte)'A' and <= (byte)'F' => c - 'A' + 10,
        _ => -1,
    };
}
