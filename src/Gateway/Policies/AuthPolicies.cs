using NostrRelay.Protocol;

namespace NostrRelay.Policies;

/// <summary>Built-in policies that need NIP-42 AUTH: everything behind it, private kinds (NIP-04/59 and more), NIP-70.</summary>
public static class AuthPolicies
{
    private static readonly PolicyResult AuthFirst = PolicyResult.AuthRequired("this relay serves authenticated clients only");

    /// <summary>Every EVENT needs an authenticated pubkey (<c>Relay:Auth:Required</c>).</summary>
    public static EventPolicy EventsNeedAuth() => (_, client) => client.IsAuthenticated ? PolicyResult.Accept : AuthFirst;

    /// <summary>Every REQ and COUNT needs an authenticated pubkey (<c>Relay:Auth:Required</c>).</summary>
    public static FilterPolicy ReadsNeedAuth() => (_, client) => client.IsAuthenticated ? PolicyResult.Accept : AuthFirst;

    /// <summary>
    /// NIP-70: an event with a <c>["-"]</c> tag is taken only from its authenticated author; a repost (kinds 6 and 16)
    /// that carries a protected event, or an event of a private kind (which would show it to everyone), is refused.
    /// </summary>
    public static EventPolicy ProtectedEvents(IEnumerable<int>? privateKinds = null)
    {
        var gated = new HashSet<int>(privateKinds ?? []);
        var authFirst = PolicyResult.AuthRequired("this event is protected (NIP-70): authenticate as its author to publish it");
        var notAuthor = PolicyResult.Restricted("this event is protected (NIP-70): only its author may publish it");
        var repost = PolicyResult.Blocked("a repost of a protected event (NIP-70) or a private one is not accepted");
        return (evt, client) =>
        {
            if (IsProtected(evt.Tags))
            {
                if (!client.IsAuthenticated) return authFirst;
                return client.IsAuthenticatedAs(evt.Pubkey) ? PolicyResult.Accept : notAuthor;
            }
            return evt.Kind is 6 or 16 && RepostsWhatItMayNot(evt.Content, gated) ? repost : PolicyResult.Accept;
        };
    }

    /// <summary>NIP-42: "relays MUST exclude kind 22242 events from being broadcasted": one sent as an EVENT is refused.</summary>
    public static EventPolicy AuthEventsAreNotPublished()
    {
        var refused = PolicyResult.Invalid("kind 22242 is for AUTH messages and is never published");
        return (evt, _) => evt.Kind == 22242 ? refused : PolicyResult.Accept;
    }

    /// <summary>
    /// A filter that names a private kind needs AUTH first (NIP-42), and must name the client's own pubkeys in
    /// <c>authors</c> or <c>#p</c>: otherwise the relay would read other people's messages only to withhold them, and
    /// they would use up the filter's limit.
    /// </summary>
    public static FilterPolicy PrivateKindsNeedAuth(IEnumerable<int> privateKinds)
    {
        var kinds = new HashSet<int>(privateKinds);
        var authFirst = PolicyResult.AuthRequired("direct messages and gift wraps are shown only to their parties: authenticate first");
        var ownOnly = PolicyResult.Restricted("direct messages and gift wraps: name your own pubkey in authors or #p");
        return (filter, client) =>
        {
            if (filter.Kinds is not { } named || !NamesAny(named, kinds)) return PolicyResult.Accept;
            if (!client.IsAuthenticated) return authFirst;
            return AllOwn(filter.Authors, client) || AllOwn(TagValues(filter, 'p'), client) ? PolicyResult.Accept : ownOnly;
        };
    }

    private static bool NamesAny(int[] named, HashSet<int> kinds)
    {
        foreach (var kind in named)
            if (kinds.Contains(kind)) return true;
        return false;
    }

    private static string[]? TagValues(NostrRelay.Protocol.Filter filter, char letter)
    {
        if (filter.Tags is null) return null;
        foreach (var tag in filter.Tags)
            if (tag.Name == letter) return tag.Values;
        return null;
    }

    private static bool AllOwn(string[]? pubkeys, ClientContext client)
    {
        if (pubkeys is not { Length: > 0 }) return false;
        foreach (var pubkey in pubkeys)
            if (!client.IsAuthenticatedAs(pubkey)) return false;
        return true;
    }

    /// <summary>Keeps an event of a private kind from everyone but its author and the pubkeys its <c>p</c> tags name.</summary>
    public static DeliveryPolicy PrivateKindsToTheirParties(IEnumerable<int> privateKinds)
    {
        var kinds = new HashSet<int>(privateKinds);
        return (evt, client) => kinds.Contains(evt.Kind) && !IsParty(evt, client);
    }

    private static bool IsParty(NostrEvent evt, ClientContext client)
    {
        if (!client.IsAuthenticated) return false;
        if (client.IsAuthenticatedAs(evt.Pubkey)) return true;
        foreach (var tag in evt.Tags)
            if (tag.Length >= 2 && tag[0] == "p" && client.IsAuthenticatedAs(tag[1])) return true;
        return false;
    }

    private static bool IsProtected(string[][] tags)
    {
        foreach (var tag in tags)
            if (tag.Length >= 1 && tag[0] == "-") return true;
        return false;
    }

    /// <summary>
    /// A repost's content is the reposted event's JSON (NIP-18). It may not carry a protected event or one of a private
    /// kind. Every content that is a JSON object is read: a text pre-check would miss an escaped <c>"\u002d"</c>.
    /// </summary>
    private static bool RepostsWhatItMayNot(string content, HashSet<int> privateKinds)
    {
        if (content.Length == 0 || content[0] != '{') return false;
        try
        {
            using var document = System.Text.Json.JsonDocument.Parse(content);
            var root = document.RootElement;
            if (root.TryGetProperty("kind", out var kind) && kind.TryGetInt32(out var reposted) && privateKinds.Contains(reposted)) return true;
            if (!root.TryGetProperty("tags", out var tags) || tags.ValueKind != System.Text.Json.JsonValueKind.Array) return false;
            foreach (var tag in tags.EnumerateArray())
                if (tag.ValueKind == System.Text.Json.JsonValueKind.Array && tag.GetArrayLength() >= 1
                    && tag[0].ValueKind == System.Text.Json.JsonValueKind.String && tag[0].GetString() == "-") return true;
            return false;
        }
        catch (System.Text.Json.JsonException)
        {
            return false;
        }
    }
}
