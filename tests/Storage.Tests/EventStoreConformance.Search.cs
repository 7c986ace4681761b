using NostrRelay.Protocol;

namespace NostrRelay.Storage.Tests;

/// <summary>
/// NIP-50: "Relays SHOULD perform matching against content"; "Results SHOULD be returned in descending order by quality
/// of search result ... The limit filter SHOULD be applied after sorting by matching score"; "Clients may include
/// kinds, ids and other filter field to restrict the search results". A store that cannot search says so
/// (<see cref="IEventStore.CanSearch"/>), and the relay then refuses search rather than ignore the words.
/// </summary>
public abstract partial class EventStoreConformance
{
    /// <summary>Whether this store is meant to answer NIP-50 search; one that is not must say so.</summary>
    protected virtual bool Searches => true;

    /// <summary>True when the search assertions apply; for a store that does not search, checks that it says so.</summary>
    private bool SearchesAsExpected(IEventStore store)
    {
        Assert.Equal(Searches, store.CanSearch);
        return Searches;
    }

    [Fact]
    public async Task search_finds_the_events_with_every_word_best_first_and_limits_after_ranking()
    {
        await using var store = await CreateEmptyStoreAsync();
        var best = TestEvents.Create(Alice, T0, content: "Nostr relay");
        var diluted = TestEvents.Create(Bob, T0 + 50, content: "this long note talks about many things, the weather, a nostr client, and then a relay far away");
        var onlyOne = TestEvents.Create(Carol, T0 + 100, content: "a relay for everyone");
        var neither = TestEvents.Create(Alice, T0 + 101, content: "nothing to see here");
        foreach (var evt in new[] { best, diluted, onlyOne, neither }) await SaveNextAsync(store, evt);
        if (!SearchesAsExpected(store)) return;

        var all = await store.QueryAsync(new Filter { Search = "relay NOSTR", Limit = 10 }).ToListAsync();
        var top = await store.QueryAsync(new Filter { Search = "relay nostr", Limit = 1 }).ToListAsync();

        Assert.Equal([best.Id, diluted.Id], all.Select(e => e.Id));   // the better match first, though older
        Assert.Equal([best.Id], top.Select(e => e.Id));
        Assert.Equal(2, await store.CountAsync(new Filter { Search = "nostr relay" }));
        Assert.Equal(2, (await store.ReadKeysAsync(new Filter { Search = "nostr relay" }).ToListAsync()).Count);
    }

    [Fact]
    public async Task search_ignores_extensions_and_keeps_the_filters_other_conditions()
    {
        await using var store = await CreateEmptyStoreAsync();
        var note = TestEvents.Create(Alice, T0, content: "orleans grains everywhere");
        var reaction = TestEvents.Create(Alice, T0 + 1, kind: 7, content: "orleans");
        var bobs = TestEvents.Create(Bob, T0 + 2, content: "orleans at scale");
        foreach (var evt in new[] { note, reaction, bobs }) await SaveNextAsync(store, evt);
        if (!SearchesAsExpected(store)) return;

        var withExtensions = await store.QueryAsync(new Filter { Search = "orleans include:spam language:en", Limit = 10 }).ToListAsync();
        var alicesNotes = await store.QueryAsync(new Filter { Search = "orleans", Authors = [Alice], Kinds = [1], Limit = 10 }).ToListAsync();
        var since = await store.QueryAsync(new Filter { Search = "orleans", Since = T0 + 1, Limit = 10 }).ToListAsync();

        Assert.Equal(3, withExtensions.Count);
        Assert.Equal([note.Id], alicesNotes.Select(e => e.Id));
        Assert.Equal(new[] { bobs.Id, reaction.Id }.Order(), since.Select(e => e.Id).Order());
    }

    [Fact]
    public async Task an_event_deleted_or_replaced_is_no_longer_found()
    {
        await using var store = await CreateEmptyStoreAsync();
        var doomed = TestEvents.Create(Alice, T0, content: "ephemeral thoughts");
        var profile = TestEvents.Create(Bob, T0, EventKind.Metadata, content: """{"about":"thoughts on grains"}""");
        await SaveNextAsync(store, doomed);
        await SaveNextAsync(store, profile);
        await store.DeleteAsync(doomed.Id);
        await SaveNextAsync(store, TestEvents.Create(Bob, T0 + 1, EventKind.Metadata, content: """{"about":"silence"}"""));

        if (!SearchesAsExpected(store)) return;
        Assert.Empty(await store.QueryAsync(new Filter { Search = "thoughts", Limit = 10 }).ToListAsync());
        Assert.Single(await store.QueryAsync(new Filter { Search = "silence", Limit = 10 }).ToListAsync());
    }
}
