using System.Text.Json;
using Microsoft.Extensions.Options;
using NostrRelay.Auth;
using NostrRelay.Connections;
using NostrRelay.Crypto;
using NostrRelay.Framing;
using NostrRelay.Hosting;
using NostrRelay.Protocol;

namespace NostrRelay.Messages;

/// <summary>
/// <c>["AUTH", event]</c> (NIP-42): a kind 22242 event whose <c>challenge</c> tag is the one this connection was sent,
/// whose <c>relay</c> tag names this relay, created within ten minutes of now, with a good id and signature, proves
/// its pubkey for the rest of the connection; answered with OK either way. A connection may prove several pubkeys.
/// </summary>
internal sealed class AuthMessageHandler(RelayLimits limits, EventVerifier verifier, IOptions<RelayOptions> options, TimeProvider time)
    : IClientMessageHandler
{
    public const int AuthKind = 22242;

    /// <summary>Pubkeys one connection may prove: each is checked at every delivery of a private kind, so the set stays small.</summary>
    public const int MaxPubkeysPerConnection = 16;
    private static readonly TimeSpan MaxSkew = TimeSpan.FromMinutes(10);
    private readonly ThisRelay _thisRelay = new(options.Value.PublicUrls);

    public ValueTask HandleAsync(RelayConnection connection, ReadOnlyMemory<byte> frame)
    {
        NostrEvent? evt;
        string? problem;
        try
        {
            var reader = new Utf8JsonReader(frame.Span, FrameReader.Options);
            FrameReader.ReadKind(ref reader);
            FrameReader.TryReadEvent(ref reader, limits, out evt, out problem);
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            evt = null;
            problem = "invalid: malformed JSON: " + ex.Message;
        }
        if (evt is null)
        {
            var id = FrameReader.PeekEventId(frame.Span);
            var message = problem ?? "invalid: AUTH needs a signed event";
            connection.Reply(id is not null ? RelayFrames.Ok(id, false, message) : RelayFrames.Notice(message));
            return default;
        }
        var refused = connection.Client.AuthenticatedPubkeys.Count >= MaxPubkeysPerConnection && !connection.Client.IsAuthenticatedAs(evt.Pubkey)
            ? $"restricted: a connection may authenticate at most {MaxPubkeysPerConnection} pubkeys"
            : Check(evt, connection);
        if (refused is null) connection.Client.Authenticate(evt.Pubkey);
        connection.Reply(RelayFrames.Ok(evt.Id, refused is null, refused ?? ""));
        return default;
    }

    /// <summary>Why the AUTH event proves nothing, or null when it proves its pubkey.</summary>
    private string? Check(NostrEvent evt, RelayConnection connection)
    {
        if (evt.Kind != AuthKind) return $"invalid: an AUTH event has kind {AuthKind}";
        string? challenge = null, relay = null;
        foreach (var tag in evt.Tags)
        {
            if (tag.Length < 2) continue;
            if (tag[0] == "challenge") challenge ??= tag[1];
            else if (tag[0] == "relay") relay ??= tag[1];
        }
        if (!string.Equals(challenge, connection.Client.Challenge, StringComparison.Ordinal))
            return "invalid: the challenge tag is not the one this connection was sent";
        if (!_thisRelay.IsNamedBy(relay, connection.Client.ConnectedUrl))
            return "invalid: the relay tag does not name this relay";
        var now = time.GetUtcNow().ToUnixTimeSeconds();
        if (Math.Abs((double)evt.CreatedAt - now) > MaxSkew.TotalSeconds)
            return "invalid: an AUTH event must be created within ten minutes of now";
        return verifier.Check(evt);
    }
}
