namespace NostrRelay.Protocol;

/// <summary>
/// A validated NIP-01 event. <see cref="Json"/> holds its seven fields serialized once, on arrival: the
/// store keeps those bytes and every subscriber is sent the same bytes.
/// </summary>
[GenerateSerializer, Immutable, Alias("nostr.event")]
public sealed record NostrEvent(
    [property: Id(0)] string Id,
    [property: Id(1)] string Pubkey,
    [property: Id(2)] long CreatedAt,
    [property: Id(3)] int Kind,
    [property: Id(4)] string[][] Tags,
    [property: Id(5)] string Content,
    [property: Id(6)] string Sig,
    [property: Id(7)] byte[] Json)
{
    /// <summary>The value of the first <c>d</c> tag, or "" when there is none (NIP-01 addressable events).</summary>
    public string DTag
    {
        get
        {
            foreach (var tag in Tags)
            {
                if (tag.Length >= 2 && tag[0] == "d") return tag[1];
                if (tag.Length == 1 && tag[0] == "d") return "";
            }
            return "";
        }
    }

    /// <summary>
    /// The replaceable address this event competes for ("kind:pubkey:" or "kind:pubkey:d"), or null for
    /// regular and ephemeral events. Only the newest event of an address is kept.
    /// </summary>
    public string? Address => EventKind.IsReplaceable(Kind) ? $"{Kind}:{Pubkey}:"
        : EventKind.IsAddressable(Kind) ? $"{Kind}:{Pubkey}:{DTag}"
        : null;

    /// <summary>NIP-01 order: newest first; equal created_at, lowest id first.</summary>
    public static int CompareNewestFirst(NostrEvent a, NostrEvent b)
    {
        var byTime = b.CreatedAt.CompareTo(a.CreatedAt);
        return byTime != 0 ? byTime : string.CompareOrdinal(a.Id, b.Id);
    }

    /// <summary>True when this event replaces the one of <paramref name="otherCreatedAt"/> and <paramref name="otherId"/> at the same address (NIP-01: newer wins; same second, lower id wins).</summary>
    public bool Supersedes(long otherCreatedAt, string otherId) =>
        CreatedAt > otherCreatedAt || (CreatedAt == otherCreatedAt && string.CompareOrdinal(Id, otherId) < 0);

    /// <summary>
    /// NIP-40: the unix time in the first <c>expiration</c> tag, or null when there is none (or it is not a number).
    /// From that second on the event is not served.
    /// </summary>
    public long? Expiration
    {
        get
        {
            foreach (var tag in Tags)
            {
                if (tag.Length < 2 || tag[0].Length != 10 || tag[0] != "expiration") continue;
                return long.TryParse(tag[1], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var at) ? at : null;
            }
            return null;
        }
    }

    /// <summary>NIP-40: true when the event has expired by <paramref name="now"/> (unix seconds).</summary>
    public bool IsExpiredAt(long now) => Expiration is { } at && at <= now;

    public string JsonText => System.Text.Encoding.UTF8.GetString(Json);
}
