namespace NostrRelay.Auth;

/// <summary>
/// Whether a URL an event names is this relay: one of <c>Relay:PublicUrls</c>, or, when none is set, the URL the
/// client connected to (from its Host header). NIP-42 AUTH and NIP-62 requests to vanish both ask it; URLs are
/// compared after <see cref="RelayUrl.Normalize"/>.
/// </summary>
internal sealed class ThisRelay
{
    private readonly string[] _publicUrls;

    public ThisRelay(string[]? publicUrls)
    {
        var normalized = new List<string>();
        foreach (var url in publicUrls ?? [])
            normalized.Add(RelayUrl.Normalize(url) ?? throw new ArgumentException($"Relay:PublicUrls has {url}, which is not a ws, wss, http or https URL"));
        _publicUrls = [.. normalized];
    }

    /// <summary>False when the relay knows its URLs only from what clients' Host headers say.</summary>
    public bool HasPublicUrls => _publicUrls.Length > 0;

    public bool IsNamedBy(string? url, string? connectedUrl)
    {
        var named = url is null ? null : RelayUrl.Normalize(url);
        if (named is null) return false;
        if (_publicUrls.Length == 0) return string.Equals(named, connectedUrl, StringComparison.Ordinal);
        foreach (var publicUrl in _publicUrls)
            if (string.Equals(named, publicUrl, StringComparison.Ordinal)) return true;
        return false;
    }
}
