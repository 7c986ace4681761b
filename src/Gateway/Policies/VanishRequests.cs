using NostrRelay.Auth;
using NostrRelay.Protocol;

namespace NostrRelay.Policies;

/// <summary>
/// NIP-62: a request to vanish (kind 62) is for the relays its <c>relay</c> tags name, or for all with
/// <c>ALL_RELAYS</c>. One that names neither this relay nor all is refused, since taking it would remove the
/// author's events here on a request meant for others. When <c>Relay:PublicUrls</c> is unset, the URL a client
/// connected to is whatever its Host header says, so a request signed for another relay could be replayed here:
/// then a request naming a URL (not ALL_RELAYS) is taken only from a connection authenticated as its author, since
/// NIP-42's challenge proves the client talks to this relay. One that is taken passes the other policies but the
/// address rate limit and the time limits: "relays that restrict who can post MUST also follow the request to vanish
/// regardless of the user's status".
/// </summary>
internal static class VanishRequests
{
    public const int Kind = 62;
    public const string AllRelays = "ALL_RELAYS";

    private static readonly PolicyResult NotForThisRelay =
        PolicyResult.Invalid("a request to vanish (NIP-62) must name this relay, or ALL_RELAYS, in a relay tag");

    private static readonly PolicyResult ProveItFirst =
        PolicyResult.AuthRequired("a request to vanish (NIP-62) naming this relay's URL is taken from its authenticated author");

    public static EventPolicy MustNameThisRelay(ThisRelay relay) => (evt, client) =>
    {
        var namedByUrl = false;
        foreach (var tag in evt.Tags)
        {
            if (tag.Length < 2 || tag[0] != "relay") continue;
            if (tag[1] == AllRelays) return PolicyResult.Accept;
            namedByUrl |= relay.IsNamedBy(tag[1], client.ConnectedUrl);
        }
        if (!namedByUrl) return NotForThisRelay;
        return relay.HasPublicUrls || client.IsAuthenticatedAs(evt.Pubkey) ? PolicyResult.Accept : ProveItFirst;
    };
}
