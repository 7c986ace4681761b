using NostrRelay.Auth;
using NostrRelay.Protocol;

namespace NostrRelay.Policies;

/// <summary>
/// NIP-62: a request to vanish (kind 62) is for the relays its <c>relay</c> tags name, or for all with
/// <c>ALL_RELAYS</c>. One that names neither this relay nor all is refused, since taking it would remove the
/// author's events here on a request meant for others. One that does name this relay is taken whatever the other
/// policies say: "relays that restrict who can post MUST also follow the request to vanish regardless of the user's
/// status".
/// </summary>
internal static class VanishRequests
{
    public const int Kind = 62;
    public const string AllRelays = "ALL_RELAYS";

    private static readonly PolicyResult NotForThisRelay =
        PolicyResult.Invalid("a request to vanish (NIP-62) must name this relay, or ALL_RELAYS, in a relay tag");

    public static EventPolicy MustNameThisRelay(ThisRelay relay) => (evt, client) =>
    {
        foreach (var tag in evt.Tags)
        {
            if (tag.Length < 2 || tag[0] != "relay") continue;
            if (tag[1] == AllRelays || relay.IsNamedBy(tag[1], client.ConnectedUrl)) return PolicyResult.Accept;
        }
        return NotForThisRelay;
    };
}
