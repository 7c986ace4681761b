using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using NostrRelay.Auth;
using NostrRelay.Crypto;
using NostrRelay.Protocol;

namespace NostrRelay.Management;

/// <summary>
/// NIP-98 as NIP-86 requires it: <c>Authorization: Nostr &lt;base64 of a kind 27235 event&gt;</c> whose <c>u</c> tag
/// names this relay (compared as NIP-42 compares relay URLs: the configured public URLs, or the URL requested),
/// whose <c>method</c> is the request's, whose <c>payload</c> is the SHA-256 of the body, created within 60 s of now,
/// correctly signed, by an admin, and not seen before (an authorization is good for one request).
/// </summary>
internal sealed class HttpAuthorization(string[]? admins, ThisRelay thisRelay, EventVerifier verifier, TimeProvider time)
{
    public const int Kind = 27235;
    private static readonly TimeSpan MaxSkew = TimeSpan.FromSeconds(60);

    /// <summary>How long a used authorization is remembered: past it, its created_at is too old anyway.</summary>
    public const int ReplayWindowSeconds = 130;

    private readonly HashSet<string> _admins = new(admins ?? [], StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, long> _used = new(StringComparer.Ordinal);   // signature → when
    private long _nextSweep;

    /// <summary>
    /// The authorization event when it holds (its signature then still to be claimed across the cluster), or null with
    /// why the request is not authorized.
    /// </summary>
    public NostrEvent? Check(string? header, string method, string requestUrl, ReadOnlySpan<byte> body, out string? problem)
    {
        problem = Problem(header, method, requestUrl, body, out var evt);
        return problem is null ? evt : null;
    }

    private string? Problem(string? header, string method, string requestUrl, ReadOnlySpan<byte> body, out NostrEvent? evt)
    {
        evt = null;
        if (_admins.Count == 0) return "this relay has no admins (Relay:Management:Admins)";
        if (header is null || !header.StartsWith("Nostr ", StringComparison.OrdinalIgnoreCase)) return "an Authorization header with a NIP-98 event (Nostr <base64>) is required";
        try
        {
            var json = Convert.FromBase64String(header["Nostr ".Length..].Trim());
            var reader = new Utf8JsonReader(json);
            if (!reader.Read()) return "the authorization is not a base64 JSON event";
            if (!EventReader.TryRead(ref reader, out evt, out var error, maxTags: 100)) return "the authorization event is malformed: " + error;
        }
        catch (Exception ex) when (ex is FormatException or JsonException or InvalidOperationException)
        {
            return "the authorization is not a base64 JSON event";
        }
        if (evt!.Kind != Kind) return $"the authorization event must have kind {Kind}";
        var now = time.GetUtcNow().ToUnixTimeSeconds();
        if (Math.Abs((double)evt.CreatedAt - now) > MaxSkew.TotalSeconds) return "the authorization event must be created within 60 seconds of now";
        string? url = null, signedMethod = null, payload = null;
        foreach (var tag in evt.Tags)
        {
            if (tag.Length < 2) continue;
            switch (tag[0])
            {
                case "u": url ??= tag[1]; break;
                case "method": signedMethod ??= tag[1]; break;
                case "payload": payload ??= tag[1]; break;
            }
        }
        if (!thisRelay.IsNamedBy(url, RelayUrl.Normalize(requestUrl))) return "the u tag does not name this relay";
        if (!string.Equals(signedMethod, method, StringComparison.OrdinalIgnoreCase)) return "the method tag is not this request's method";
        if (payload is null) return "the payload tag (the SHA-256 of the body) is required";
        if (!string.Equals(payload, Convert.ToHexStringLower(SHA256.HashData(body)), StringComparison.OrdinalIgnoreCase)) return "the payload tag is not the SHA-256 of this body";
        if (verifier.Check(evt) is { } invalid) return "the authorization event is not valid: " + invalid;
        if (!_admins.Contains(evt.Pubkey)) return "this pubkey is not an admin of this relay";
        Sweep(now);
        // By signature, not id: the same call signed again within a second has the same id, and only its author can sign
        // it. Here for this gateway; the moderation grain answers for the cluster.
        if (!_used.TryAdd(evt.Sig, now)) return "this authorization was already used";
        return null;
    }

    /// <summary>Forgets authorizations too old to be accepted again anyway.</summary>
    private void Sweep(long now)
    {
        if (now < Interlocked.Read(ref _nextSweep)) return;
        Interlocked.Exchange(ref _nextSweep, now + 60);
        foreach (var (id, at) in _used)
            if (now - at > ReplayWindowSeconds) _used.TryRemove(id, out _);
    }
}
