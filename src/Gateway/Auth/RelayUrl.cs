namespace NostrRelay.Auth;

/// <summary>
/// A relay URL as NIP-42 compares them: the scheme left out (ws, wss, http and https all name the relay, because a
/// TLS proxy in front turns wss into ws), host case-insensitive, default ports dropped, a trailing slash ignored.
/// </summary>
internal static class RelayUrl
{
    /// <summary>"host[:port]/path" without a trailing slash; null when <paramref name="url"/> is not a ws, wss, http or https URL.</summary>
    public static string? Normalize(string url)
    {
        if (!Uri.TryCreate(url.Trim(), UriKind.Absolute, out var uri)) return null;
        if (uri.Scheme is not ("ws" or "wss" or "http" or "https")) return null;
        var port = uri.IsDefaultPort || uri.Port is 80 or 443 ? "" : ":" + uri.Port;
        return uri.Host.ToLowerInvariant() + port + uri.AbsolutePath.TrimEnd('/');
    }
}
