using System.Net;

namespace NostrRelay.Policies;

/// <summary>
/// The connection a message came from, as policies see it. One per WebSocket, alive as long as it is; a policy may
/// keep its own per-connection state in <see cref="Items"/>.
/// </summary>
public sealed class ClientContext
{
    private Dictionary<string, object?>? _items;
    private readonly HashSet<string> _authenticated = new(StringComparer.Ordinal);

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
    public IReadOnlyCollection<string> AuthenticatedPubkeys
    {
        get
        {
            lock (_authenticated) return [.. _authenticated];
        }
    }

    /// <summary>True when the connection proved it holds <paramref name="pubkey"/>.</summary>
    public bool IsAuthenticatedAs(string pubkey)
    {
        lock (_authenticated) return _authenticated.Contains(pubkey);
    }

    /// <summary>True once the connection proved any pubkey.</summary>
    public bool IsAuthenticated
    {
        get
        {
            lock (_authenticated) return _authenticated.Count > 0;
        }
    }

    /// <summary>The NIP-42 challenge sent to this connection: random, one per connection.</summary>
    internal string Challenge { get; } = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));

    /// <summary>This connection's relay URL as a client would name it (normalized, <see cref="Auth.RelayUrl"/>), or null.</summary>
    internal string? ConnectedUrl { get; init; }

    internal void Authenticate(string pubkey)
    {
        lock (_authenticated) _authenticated.Add(pubkey);
    }

    /// <summary>State a policy keeps for this connection; not thread-safe across policies that run in parallel.</summary>
    public IDictionary<string, object?> Items => _items ??= new Dictionary<string, object?>(StringComparer.Ordinal);
}
