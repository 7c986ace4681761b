using NostrRelay.Protocol;

namespace NostrRelay.Storage.Tests;

/// <summary>
/// NIP-40's purge reads an expiration index: "Relays SHOULD NOT send expired events to clients" and may delete them.
/// Every store lists what expired by a time, soonest first, and keeps the index in step with every write.
/// </summary>
public abstract partial class EventStoreConformance
{
    private static NostrEvent Expiring(string pubkey, long createdAt, string expiration, string content = "") =>
        TestEvents.Create(pubkey, createdAt, tags: [["expiration", expiration]], content: content);

    [Fact]
    public async Task expired_events_are_listed_soonest_first_up_to_the_time_and_the_max()
    {
        await using var store = await CreateEmptyStoreAsync();
        var second = Expiring(Alice, T0, (T0 + 10).ToString());
        var first = Expiring(Bob, T0, (T0 + 5).ToString());
        var third = Expiring(Carol, T0, (T0 + 20).ToString());
        var later = Expiring(Alice, T0 + 1, (T0 + 100).ToString());
        var never = TestEvents.Create(Bob, T0 + 1);
        foreach (var evt in new[] { second, first, third, later, never }) await SaveNextAsync(store, evt);

        Assert.Equal([first.Id, second.Id, third.Id], await store.ReadExpiredAsync(T0 + 50, 10).ToListAsync());
        Assert.Equal([first.Id, second.Id], await store.ReadExpiredAsync(T0 + 50, 2).ToListAsync());
        Assert.Equal([first.Id], await store.ReadExpiredAsync(T0 + 5, 10).ToListAsync());
        Assert.Empty(await store.ReadExpiredAsync(T0 + 4, 10).ToListAsync());
    }

    [Fact]
    public async Task an_event_gone_by_delete_replace_or_deletion_request_is_no_longer_listed()
    {
        await using var store = await CreateEmptyStoreAsync();
        var deleted = Expiring(Alice, T0, (T0 + 1).ToString(), "deleted");
        var requested = Expiring(Alice, T0 + 1, (T0 + 2).ToString(), "named by a request");
        var replaced = TestEvents.Create(Bob, T0, EventKind.Metadata, [["expiration", (T0 + 3).ToString()]], "{}");
        var kept = Expiring(Carol, T0, (T0 + 4).ToString(), "kept");
        foreach (var evt in new[] { deleted, requested, replaced, kept }) await SaveNextAsync(store, evt);

        await store.DeleteAsync(deleted.Id);
        await SaveNextAsync(store, TestEvents.Create(Alice, T0 + 5, DeletionRequest, [["e", requested.Id]]));
        await SaveNextAsync(store, TestEvents.Create(Bob, T0 + 5, EventKind.Metadata, content: """{"name":"bob"}"""));

        Assert.Equal([kept.Id], await store.ReadExpiredAsync(T0 + 50, 10).ToListAsync());
    }

    [Fact]
    public async Task the_first_expiration_tag_counts_and_one_that_is_not_a_number_never_expires()
    {
        await using var store = await CreateEmptyStoreAsync();
        var twoTags = TestEvents.Create(Alice, T0, tags: [["expiration", (T0 + 30).ToString()], ["expiration", (T0 + 1).ToString()]]);
        var words = Expiring(Bob, T0, "tomorrow");
        await SaveNextAsync(store, twoTags);
        await SaveNextAsync(store, words);

        Assert.Empty(await store.ReadExpiredAsync(T0 + 10, 10).ToListAsync());
        Assert.Equal([twoTags.Id], await store.ReadExpiredAsync(T0 + 30, 10).ToListAsync());
    }
}
