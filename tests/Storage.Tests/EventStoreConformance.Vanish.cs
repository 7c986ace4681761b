using NostrRelay.Protocol;
using NostrRelay.Streams;

namespace NostrRelay.Storage.Tests;

/// <summary>
/// NIP-62: "Relays MUST fully delete any events from the .pubkey" up to the request's created_at, including deletion
/// requests, and "SHOULD delete all NIP-59 Gift Wraps that p-tagged the .pubkey" (all of them: NIP-59 dates them
/// randomly into the past). The author's stream grain removes them through the store's own deletes, so every store and
/// composition loses them.
/// </summary>
public abstract partial class EventStoreConformance
{
    [Fact]
    public async Task a_request_to_vanish_removes_the_authors_older_events_and_every_gift_wrap_for_them_and_nothing_else()
    {
        await using var store = await CreateEmptyStoreAsync();
        var older = new List<NostrEvent>();
        for (var i = 0; i < 7; i++) older.Add(TestEvents.Create(Alice, T0 + i, 1, [], $"alice's note {i}"));
        older.Add(TestEvents.Create(Alice, T0 + 8, EventKind.Metadata, content: """{"name":"alice"}"""));
        older.Add(TestEvents.Create(Alice, T0 + 9, DeletionRequest, [["e", TestEvents.Pubkey("nothing")]]));
        var wrapForAlice = TestEvents.Create(Bob, T0 + 5, 1059, [["p", Alice]], "a sealed message for alice");
        var wrapForCarol = TestEvents.Create(Bob, T0 + 5, 1059, [["p", Carol]], "a sealed message for carol");
        var mention = TestEvents.Create(Carol, T0 + 6, 1, [["p", Alice]], "carol mentions alice");
        var request = TestEvents.Create(Alice, T0 + 10, Vanishing.Kind, [["relay", "ALL_RELAYS"]], "gone");
        var later = TestEvents.Create(Alice, T0 + 20, 1, [], "alice after vanishing");
        var laterWrap = TestEvents.Create(Bob, T0 + 20, 1059, [["p", Alice]], "a later message");
        foreach (var evt in older) await SaveNextAsync(store, evt);
        foreach (var evt in new[] { wrapForAlice, wrapForCarol, mention, request, later, laterWrap }) await SaveNextAsync(store, evt);

        var removed = await Vanishing.PurgeAsync(store, Alice, request.CreatedAt, request.Id, CancellationToken.None);

        Assert.Equal(older.Count + 2, removed);
        Assert.Equal([later.Id, request.Id], (await store.QueryAsync(new Filter { Authors = [Alice] }).ToListAsync()).Select(e => e.Id));
        Assert.Empty(await store.QueryAsync(new Filter { Kinds = [1059], Tags = [new TagFilter('p', [Alice])] }).ToListAsync());
        Assert.Equal(2, await store.CountAsync(new Filter { Authors = [Bob, Carol] }));   // the wrap for carol and the mention stay
        Assert.Equal(0, await Vanishing.PurgeAsync(store, Alice, request.CreatedAt, request.Id, CancellationToken.None));   // a second run finds nothing
    }

    [Fact]
    public async Task a_deletion_request_against_a_request_to_vanish_has_no_effect()
    {
        await using var store = await CreateEmptyStoreAsync();
        var request = TestEvents.Create(Alice, T0, Vanishing.Kind, [["relay", "ALL_RELAYS"]]);
        await SaveNextAsync(store, request);

        await SaveNextAsync(store, TestEvents.Create(Alice, T0 + 1, DeletionRequest, [["e", request.Id]]));

        Assert.Single(await store.QueryAsync(new Filter { Ids = [request.Id] }).ToListAsync());
    }
}
