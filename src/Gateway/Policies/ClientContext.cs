using System.Net;

namespace NostrRelay.Policies;

/// <summary>
/// The connection a message came from, as policies see it. One per WebSocket, alive as long as it is; a policy may
/// keep its own per-connection state in <see cref="Items"/>.
/// </summary>
public sealed class ClientContext
{
    private Dictionary<string, object?>? _items;
    private volatile string[] _authenticated = [];
    private readonly Lock _authenticating = new();

    /// <summary>The <c>import</c> command's events: no connection, no address.</summary>
    internal static ClientContext ForImport() => new(0, null) { IsImport = true };

    internal ClientContext(long connectionId, IPAddress? remoteIp)
    {
        ConnectionId = connectionId;
        RemoteIp = remoteIp;
        AddressKey = remoteIp?.ToString() ?? "";
    }

    /// <summary>The gateway's number for this connection, as in its logs.</summary>
    public long ConnectionId { get; }

    /// <summary>The client's address: behind a proxy listed in <c>Relay:TrustedProxies</c>, the one it forwarded.</summary>
    public IPAddress? RemoteIp { get; }

    /// <summary>True for events the <c>import</c> command brings in (a plugin is told <c>sourceType: "Import"</c>).</summary>
    internal bool IsImport { get; private init; }

    /// <summary>The address as text, made once: per-address buckets are keyed by it on every EVENT and REQ.</summary>
    internal string AddressKey { get; }

    /// <summary>The pubkeys this connection proved it holds (NIP-42 AUTH); a connection may prove several.</summary>
    public IReadOnlyCollection<string> AuthenticatedPubkeys => _authenticated;

    /// <summary>True when the connection proved it holds <paramref name="pubkey"/>.</summary>
    public bool IsAuthenticatedAs(string pubkey)
    {
        foreach (var known in _authenticated)
            if (string.Equals(known, pubkey, StringComparison.Ordinal)) return true;
        return false;
    }

    /// <summary>True once the connection proved any pubkey.</summary>
    public bool IsAuthenticated => _authenticated.Length > 0;

    /// <summary>The NIP-42 challenge sent to this connection: random, one per connection.</summary>
    internal string Challenge { get; } = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));

    /// <summary>This connection's relay URL as a client would name it (normalized, <see cref="Auth.RelayUrl"/>), or null.</summary>
    internal string? ConnectedUrl { get; init; }

    /// <summary>Copy on write: readers (every delivery of a private kind) take the array as it is, without a lock.</summary>
    internal void Authenticate(string pubkey)
    {
        lock (_authenticating)
        {
            if (IsAuthenticatedAs(pubkey)) return;
            _authenticated = [.. _authenticated, pubkey];
        }
    }

    /// <summary>State a policy keeps for this connection; not thread-safe across policies that run in parallel.</summary>
    public IDictionary<string, object?> Items => _items ??= new Dictionary<string, object?>(StringComparer.Ordinal);
}
