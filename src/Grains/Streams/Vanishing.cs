using NostrRelay.Protocol;
using NostrRelay.Storage;

namespace NostrRelay.Streams;

/// <summary>
/// NIP-62's removal, as an author's stream grain carries it out: "Relays MUST fully delete any events from the .pubkey"
/// up to the request's created_at, deletion requests included, and "SHOULD delete all NIP-59 Gift Wraps that p-tagged
/// the .pubkey": all of them, whatever their created_at, which NIP-59 randomizes into the past. The request itself is
/// kept. Removal goes through <see cref="IEventStore.DeleteAsync"/>, so every store, mirror and shard loses them.
/// </summary>
internal static class Vanishing
{
    public const int Kind = 62;
    public const int GiftWrapKind = 1059;

    /// <summary>The p tags of one gift wrap that are looked up: NIP-59 wraps name one recipient.</summary>
    public const int MaxRecipientsChecked = 4;

    private const int PageSize = 500;

    public const string AuthorVanishedMessage = "blocked: this pubkey asked to vanish (NIP-62); its events dated before that request are not taken";
    public const string RecipientVanishedMessage = "blocked: the recipient asked to vanish (NIP-62); gift wraps for them dated before that request are not taken";

    /// <summary>Removes the author's events up to <paramref name="until"/> (but <paramref name="keep"/>) and every gift wrap for them; how many went.</summary>
    public static async Task<int> PurgeAsync(IEventStore store, string pubkey, long until, string keep, CancellationToken cancellationToken)
    {
        var own = new Filter { Authors = [pubkey], Until = until, Limit = PageSize };
        var giftWraps = new Filter { Kinds = [GiftWrapKind], Tags = [new TagFilter('p', [pubkey])], Limit = PageSize };
        return await PurgeAsync(store, own, keep, cancellationToken) + await PurgeAsync(store, giftWraps, keep, cancellationToken);
    }

    /// <summary>Page by page, newest first: each page is deleted before the next is read, so the next starts where it left off.</summary>
    private static async Task<int> PurgeAsync(IEventStore store, Filter filter, string keep, CancellationToken cancellationToken)
    {
        var removed = 0;
        var idleRounds = 0;
        var ids = new List<string>(PageSize);
        while (idleRounds < 2)
        {
            ids.Clear();
            await foreach (var evt in store.QueryAsync(filter, cancellationToken))
                if (!string.Equals(evt.Id, keep, StringComparison.Ordinal)) ids.Add(evt.Id);
            if (ids.Count == 0) return removed;
            var deletes = new Task<bool>[ids.Count];
            for (var i = 0; i < ids.Count; i++) deletes[i] = store.DeleteAsync(ids[i], cancellationToken);
            var before = removed;
            foreach (var deleted in await Task.WhenAll(deletes))
                if (deleted) removed++;
            // Ids already gone (the expiry purge took them meanwhile) no longer match, so the next read moves on; a page
            // that twice deletes nothing is not going away, and is left for the next activation rather than looped on.
            idleRounds = removed == before ? idleRounds + 1 : 0;
        }
        return removed;
    }
}
