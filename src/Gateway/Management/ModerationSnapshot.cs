using System.Net;
using NostrRelay.Grains;
using NostrRelay.Hosting;
using NostrRelay.Policies;
using NostrRelay.Protocol;

namespace NostrRelay.Management;

/// <summary>
/// What the relay admits right now: the configured lists (<c>Relay:Policies</c>) joined with the NIP-86 state, as sets
/// a gateway checks each EVENT against without a grain call. A blocked address and a banned event are refused first;
/// an event id an admin allowed then passes the pubkey and kind lists (NIP-86's approval of one event); otherwise a ban
/// or deny wins over an allow.
/// </summary>
internal sealed class ModerationSnapshot
{
    private readonly HashSet<string> _bannedPubkeys = new(StringComparer.Ordinal);
    private readonly HashSet<string>? _allowedPubkeys;
    private readonly HashSet<string> _bannedEvents;
    private readonly HashSet<string> _allowedEvents;
    private readonly HashSet<int> _deniedKinds = [];
    private readonly HashSet<int>? _allowedKinds;
    private readonly HashSet<string> _blockedIps;

    public ModerationSnapshot(RelayPolicyOptions configured, ModerationState state)
    {
        State = state;
        _bannedPubkeys.UnionWith(configured.DeniedPubkeys ?? []);
        _bannedPubkeys.UnionWith(state.BannedPubkeys.Keys);
        if (configured.AllowedPubkeys is not null || state.AllowedPubkeys.Count > 0)
            _allowedPubkeys = new HashSet<string>([.. configured.AllowedPubkeys ?? [], .. state.AllowedPubkeys.Keys], StringComparer.Ordinal);
        _bannedEvents = new HashSet<string>(state.BannedEvents.Keys, StringComparer.Ordinal);
        _allowedEvents = new HashSet<string>(state.AllowedEvents.Keys, StringComparer.Ordinal);
        _deniedKinds.UnionWith(configured.DeniedKinds ?? []);
        _deniedKinds.UnionWith(state.DisallowedKinds);
        if (configured.AllowedKinds is not null || state.AllowedKinds.Count > 0)
            _allowedKinds = [.. configured.AllowedKinds ?? [], .. state.AllowedKinds];
        _blockedIps = new HashSet<string>(state.BlockedIps.Keys, StringComparer.Ordinal);
    }

    public ModerationState State { get; }

    /// <summary>True when only the pubkeys of an allow list (configured or NIP-86) may publish.</summary>
    public bool RestrictsPubkeys => _allowedPubkeys is not null;

    /// <summary>The kinds admitted when a list of them is kept (configured or NIP-86), else null.</summary>
    public IReadOnlyCollection<int>? AllowedKinds => _allowedKinds;

    public bool IsBlocked(IPAddress? address) => address is not null && _blockedIps.Count > 0 && _blockedIps.Contains(Key(address));

    /// <summary>The form addresses are kept in: IPv4 as IPv4 even when the socket reports it mapped into IPv6.</summary>
    public static string Key(IPAddress address) => (address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address).ToString();

    public PolicyResult Check(NostrEvent evt, ClientContext client)
    {
        if (IsBlocked(client.RemoteIp)) return PolicyResult.Blocked("your address is blocked here");
        if (_bannedEvents.Count > 0 && _bannedEvents.Contains(evt.Id)) return PolicyResult.Blocked("this event is banned here");
        if (_allowedEvents.Count > 0 && _allowedEvents.Contains(evt.Id)) return PolicyResult.Accept;
        if (_bannedPubkeys.Count > 0 && _bannedPubkeys.Contains(evt.Pubkey)) return PolicyResult.Blocked("this pubkey may not publish here");
        if (_allowedPubkeys is not null && !_allowedPubkeys.Contains(evt.Pubkey)) return PolicyResult.Restricted("this relay accepts events from its members only");
        if (_deniedKinds.Count > 0 && _deniedKinds.Contains(evt.Kind)) return PolicyResult.Blocked($"kind {evt.Kind} is not accepted here");
        if (_allowedKinds is not null && !_allowedKinds.Contains(evt.Kind)) return PolicyResult.Blocked($"kind {evt.Kind} is not accepted here");
        return PolicyResult.Accept;
    }
}
