using NostrRelay.Protocol;
using NostrRelay.Storage;

namespace NostrRelay.Streams;

/// <summary>
/// NIP-62, as an author's stream grain carries it out: "Relays MUST fully delete any events from the .pubkey" up to
/// the request's created_at, "SHOULD delete all NIP-59 Gift Wraps that p-tagged the .pubkey", and "MUST ensure the
/// deleted events cannot be re-broadcasted". The request itself is kept: it is what keeps the older events out after a
/// restart or a failover. Removal goes through <see cref="IEventStore.DeleteAsync"/>, so every store, mirror and shard
/// loses them.
/// </summary>
internal static class Vanishing
{
    public const int Kind = 62;
    private const int GiftWrapKind = 1059;
    private const int PageSize = 500;

    public const string AuthorVanishedMessage = "blocked: this pubkey asked to vanish (NIP-62); its events dated before that request are not taken";
    public const string RecipientVanishedMessage = "blocked: the recipient asked to vanish (NIP-62); gift wraps for them dated before that request are not taken";

    /// <summary>The newest request to vanish this pubkey made here, or null.</summary>
    public static async Task<NostrEvent?> ReadRequestAsync(IEventStore store, string pubkey, CancellationToken cancellationToken)
    {
        await foreach (var evt in store.QueryAsync(new Filter { Authors = [pubkey], Kinds = [Kind], Limit = 1 }, cancellationToken))
            return evt;
        return null;
    }

    /// <summary>True when a gift wrap is for a pubkey that asked to vanish after the wrap's created_at.</summary>
    public static async Task<bool> IsForVanishedRecipientAsync(IEventStore store, NostrEvent evt, CancellationToken cancellationToken)
    {
        if (evt.Kind != GiftWrapKind) return false;
        foreach (var tag in evt.Tags)
        {
            if (tag.Length < 2 || tag[0] != "p" || tag[1].Length != 64) continue;
            if (await ReadRequestAsync(store, tag[1], cancellationToken) is { } request && evt.CreatedAt <= request.CreatedAt) return true;
        }
        return false;
    }

    /// <summary>Removes the author's events up to the request (but the request) and the gift wraps for them; how many went.</summary>
    public static async Task<int> PurgeAsync(IEventStore store, NostrEvent request, CancellationToken cancellationToken)
    {
        var own = new Filter { Authors = [request.Pubkey], Until = request.CreatedAt, Limit = PageSize };
        var giftWraps = new Filter { Kinds = [GiftWrapKind], Tags = [new TagFilter('p', [request.Pubkey])], Until = request.CreatedAt, Limit = PageSize };
        return await PurgeAsync(store, own, request.Id, cancellationToken) + await PurgeAsync(store, giftWraps, request.Id, cancellationToken);
    }

    /// <summary>Page by page, newest first: each page is deleted before the next is read, so the next starts where it left off.</summary>
    private static async Task<int> PurgeAsync(IEventStore store, Filter filter, string keep, CancellationToken cancellationToken)
    {
        var removed = 0;
        var ids = new List<string>(PageSize);
        while (true)
        {
            ids.Clear();
            await foreach (var evt in store.QueryAsync(filter, cancellationToken))
                if (!string.Equals(evt.Id, keep, StringComparison.Ordinal)) ids.Add(evt.Id);
            if (ids.Count == 0) return removed;
            var deletes = new Task<bool>[ids.Count];
            for (var i = 0; i < ids.Count; i++) deletes[i] = store.DeleteAsync(ids[i], cancellationToken);
            var progressed = false;
            foreach (var deleted in await Task.WhenAll(deletes))
            {
                if (!deleted) continue;
                removed++;
                progressed = true;
            }
            // Nothing this round went (another silo removed the same page): what is left is not this round's to chase.
            if (!progressed) return removed;
        }
    }
}
