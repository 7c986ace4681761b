using NostrRelay.Protocol;

namespace NostrRelay.Storage.Writing;

/// <summary>
/// NIP-09, written once for every store: what a deletion request removes, and which events it keeps from being
/// stored again. "Relays SHOULD delete or stop publishing any referenced events that have an identical pubkey as the
/// deletion request"; "when an a tag is used, relays SHOULD delete all versions of the replaceable event up to the
/// created_at timestamp of the deletion request"; "publishing a deletion request event against a deletion request has
/// no effect"; a gift wrap may be deleted by the recipient its p tag names, when the request says ["k", "1059"].
/// </summary>
internal static class DeletionRules
{
    public const int DeletionRequestKind = 5;
    public const int GiftWrapKind = 1059;

    /// <summary>NIP-62: "Publishing a deletion request event (Kind 5) against a request to vanish has no effect."</summary>
    public const int VanishRequestKind = 62;

    /// <summary>True when <paramref name="request"/> (a kind 5) removes <paramref name="target"/>.</summary>
    public static bool Removes(NostrEvent request, NostrEvent target)
    {
        if (target.Kind is DeletionRequestKind or VanishRequestKind) return false;
        var samePubkey = string.Equals(target.Pubkey, request.Pubkey, StringComparison.Ordinal);
        var address = samePubkey ? target.Address : null;
        var giftWrapForRequester = target.Kind == GiftWrapKind && HasTag(request, "k", "1059") && HasTag(target, "p", request.Pubkey);
        foreach (var tag in request.Tags)
        {
            if (tag.Length < 2) continue;
            if (tag[0] == "e" && tag[1] == target.Id && (samePubkey || giftWrapForRequester)) return true;
            if (tag[0] == "a" && address is not null && tag[1] == address && target.CreatedAt <= request.CreatedAt) return true;
        }
        return false;
    }

    /// <summary>True when a stored request (<paramref name="mark"/>) naming the event keeps it from being stored again.</summary>
    public static bool Forbids(DeletionMark mark, NostrEvent evt, bool namedByAddress)
    {
        if (evt.Kind is DeletionRequestKind or VanishRequestKind) return false;
        if (string.Equals(mark.Pubkey, evt.Pubkey, StringComparison.Ordinal)) return !namedByAddress || evt.CreatedAt <= mark.CreatedAt;
        return !namedByAddress && evt.Kind == GiftWrapKind && HasTag(evt, "p", mark.Pubkey);
    }

    /// <summary>The ids and addresses a request may remove, for stores that read ahead.</summary>
    public static void Claim(NostrEvent request, IWriteKeys keys)
    {
        foreach (var tag in request.Tags)
        {
            if (tag.Length < 2) continue;
            if (tag[0] == "e") keys.Id(tag[1]);
            else if (tag[0] == "a" && NamesOwnAddress(request, tag[1])) keys.Address(tag[1]);
        }
    }

    /// <summary>Removes what the request names and may remove. Reads (and parses) every target before removing any.</summary>
    public static void Apply(NostrEvent request, IWriteTransaction transaction)
    {
        List<StoredRow>? doomed = null;
        foreach (var tag in request.Tags)
        {
            if (tag.Length < 2) continue;
            if (tag[0] == "e")
            {
                if (transaction.FindById(tag[1]) is { } row && Removes(request, row.Event)) Add(ref doomed, row);
            }
            else if (tag[0] == "a" && NamesOwnAddress(request, tag[1]))
            {
                foreach (var holder in transaction.Holders(tag[1]))
                    if (Removes(request, holder.Event)) Add(ref doomed, holder);
            }
        }
        if (doomed is null) return;
        foreach (var row in doomed) transaction.Remove(row);
    }

    /// <summary>True when a stored deletion request keeps this event from being stored.</summary>
    public static bool IsDeleted(NostrEvent evt, IWriteTransaction transaction)
    {
        if (evt.Kind == DeletionRequestKind) return false;
        foreach (var mark in transaction.DeletionRequests('e', evt.Id, since: 0))
            if (Forbids(mark, evt, namedByAddress: false)) return true;
        if (evt.Address is { } address)
        {
            foreach (var mark in transaction.DeletionRequests('a', address, since: evt.CreatedAt))
                if (Forbids(mark, evt, namedByAddress: true)) return true;
        }
        return false;
    }

    /// <summary>An a tag counts only for the request's own pubkey ("kind:pubkey:d").</summary>
    private static bool NamesOwnAddress(NostrEvent request, string address)
    {
        var first = address.IndexOf(':');
        return first > 0 && address.Length > first + 65 && address[first + 65] == ':'
            && address.AsSpan(first + 1, 64).SequenceEqual(request.Pubkey);
    }

    private static bool HasTag(NostrEvent evt, string name, string value)
    {
        foreach (var tag in evt.Tags)
            if (tag.Length >= 2 && tag[0] == name && tag[1] == value) return true;
        return false;
    }

    private static void Add(ref List<StoredRow>? rows, StoredRow row)
    {
        rows ??= [];
        foreach (var known in rows)
            if (known.Position == row.Position) return;
        rows.Add(row);
    }
}
