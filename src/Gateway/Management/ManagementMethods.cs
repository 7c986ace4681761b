using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using NostrRelay.Grains;
using NostrRelay.Protocol;

namespace NostrRelay.Management;

/// <summary>
/// The NIP-86 methods: each reads its params, makes its change through the moderation grain (which persists it and
/// tells every gateway) or reads this gateway's copy, and gives the result. Roles (createrole and its siblings) are
/// not offered: this relay has no roles to give them meaning.
/// </summary>
internal sealed class ManagementMethods(IGrainFactory grains, RelayModeration moderation)
{
    public static readonly string[] Supported =
    [
        "supportedmethods",
        "banpubkey", "unbanpubkey", "listbannedpubkeys", "allowpubkey", "unallowpubkey", "listallowedpubkeys",
        "banevent", "unbanevent", "allowevent", "unallowevent", "listbannedevents", "listallowedevents", "listeventsneedingmoderation",
        "allowkind", "disallowkind", "listallowedkinds", "listdisallowedkinds",
        "blockip", "unblockip", "listblockedips",
        "changerelayname", "changerelaydescription", "changerelayicon",
    ];

    /// <summary>The result, or the error to answer with.</summary>
    public async Task<(JsonNode? Result, string? Error)> CallAsync(string method, JsonArray parameters)
    {
        var state = moderation.Current.State;
        switch (method)
        {
            case "supportedmethods": return (new JsonArray([.. Supported.Where(m => m != "supportedmethods").Select(m => (JsonNode)m)]), null);
            case "listbannedpubkeys": return (List(state.BannedPubkeys, "pubkey"), null);
            case "listallowedpubkeys": return (List(state.AllowedPubkeys, "pubkey"), null);
            case "listbannedevents": return (List(state.BannedEvents, "id"), null);
            case "listallowedevents": return (List(state.AllowedEvents, "id"), null);
            case "listeventsneedingmoderation": return (new JsonArray(), null);   // nothing is held for review here
            case "listallowedkinds":
                return (new JsonArray([.. (moderation.Current.AllowedKinds ?? []).Where(k => !state.DisallowedKinds.Contains(k)).Order().Select(k => (JsonNode)k)]), null);
            case "listdisallowedkinds": return (new JsonArray([.. state.DisallowedKinds.Order().Select(k => (JsonNode)k)]), null);
            case "listblockedips": return (List(state.BlockedIps, "ip"), null);
        }
        if (!Supported.Contains(method)) return (null, $"unsupported method: {method}");
        var (change, error) = Read(method, parameters);
        if (change is null) return (null, error);
        moderation.Apply(await grains.GetGrain<IModerationGrain>(0).ApplyAsync(change));
        return (true, null);
    }

    /// <summary>True the first time this authorization is presented to any gateway of the cluster.</summary>
    public Task<bool> ClaimAsync(string signature) => grains.GetGrain<IModerationGrain>(0).ClaimAuthorizationAsync(signature, HttpAuthorization.ReplayWindowSeconds);

    private static (ModerationChange? Change, string? Error) Read(string method, JsonArray parameters)
    {
        var first = parameters.Count > 0 ? parameters[0] : null;
        var reason = parameters.Count > 1 && parameters[1] is JsonValue second && second.TryGetValue<string>(out var text) ? text : null;
        switch (method)
        {
            case "banpubkey": case "unbanpubkey": case "allowpubkey": case "unallowpubkey":
            case "banevent": case "unbanevent": case "allowevent": case "unallowevent":
                if (first is not JsonValue hexValue || !hexValue.TryGetValue<string>(out var hex) || !Hex.IsLowerHex(hex, 64))
                    return (null, $"invalid params: {method} takes a 64-character lowercase hex {(method.EndsWith("event", StringComparison.Ordinal) ? "event id" : "pubkey")}");
                return (new ModerationChange(method switch
                {
                    "banpubkey" => ModerationAction.BanPubkey,
                    "unbanpubkey" => ModerationAction.UnbanPubkey,
                    "allowpubkey" => ModerationAction.AllowPubkey,
                    "unallowpubkey" => ModerationAction.UnallowPubkey,
                    "banevent" => ModerationAction.BanEvent,
                    "unbanevent" => ModerationAction.UnbanEvent,
                    "allowevent" => ModerationAction.AllowEvent,
                    _ => ModerationAction.UnallowEvent,
                }, hex, reason), null);
            case "allowkind": case "disallowkind":
                if (first is not JsonValue kindValue || kindValue.GetValueKind() != JsonValueKind.Number || !kindValue.TryGetValue<int>(out var kind) || kind is < 0 or > EventKind.MaxKind)
                    return (null, $"invalid params: {method} takes a kind number between 0 and {EventKind.MaxKind}");
                return (new ModerationChange(method == "allowkind" ? ModerationAction.AllowKind : ModerationAction.DisallowKind,
                    kind.ToString(System.Globalization.CultureInfo.InvariantCulture)), null);
            case "blockip": case "unblockip":
                if (first is not JsonValue ipValue || !ipValue.TryGetValue<string>(out var ip) || !IPAddress.TryParse(ip, out var address))
                    return (null, $"invalid params: {method} takes an IP address");
                return (new ModerationChange(method == "blockip" ? ModerationAction.BlockIp : ModerationAction.UnblockIp, ModerationSnapshot.Key(address), reason), null);
            default:
                if (first is not JsonValue textValue || !textValue.TryGetValue<string>(out var value) || value.Length > 4_096)
                    return (null, $"invalid params: {method} takes one string of at most 4096 characters");
                return (new ModerationChange(method switch
                {
                    "changerelayname" => ModerationAction.ChangeName,
                    "changerelaydescription" => ModerationAction.ChangeDescription,
                    _ => ModerationAction.ChangeIcon,
                }, value), null);
        }
    }

    private static JsonArray List(Dictionary<string, string?> entries, string key)
    {
        var list = new JsonArray();
        foreach (var (value, reason) in entries.OrderBy(e => e.Key, StringComparer.Ordinal))
        {
            var entry = new JsonObject { [key] = value };
            if (reason is not null) entry["reason"] = reason;
            list.Add(entry);
        }
        return list;
    }
}
