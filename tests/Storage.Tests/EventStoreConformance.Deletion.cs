using NostrRelay.Protocol;

namespace NostrRelay.Storage.Tests;

/// <summary>
/// NIP-09 in every store and composition: "Relays SHOULD delete or stop publishing any referenced events that have
/// an identical pubkey as the deletion request"; "When an a tag is used, relays SHOULD delete all versions of the
/// replaceable event up to the created_at timestamp of the deletion request event"; "Publishing a deletion request
/// event against a deletion request has no effect"; gift wraps may be deleted by the recipient their p tag names.
/// </summary>
public abstract partial class EventStoreConformance
{
    private const int DeletionRequest = 5;
    private const int LongForm = 30_023;
    private const int GiftWrap = 1_059;

    /// <summary>Saves (or replaces) at the stream's head, as the author grain does.</summary>
    private static async Task<SaveResult> SaveNextAsync(IEventStore store, NostrEvent evt)
    {
        var head = await store.ReadStreamHeadAsync(evt.Pubkey);
        return evt.Address is null ? await store.SaveAsync(evt, evt.Pubkey, head) : await store.ReplaceAsync(evt, evt.Pubkey, head);
    }

    [Fact]
    public async Task a_deletion_request_removes_the_authors_events_it_names_and_is_stored_itself()
    {
        await using var store = await CreateEmptyStoreAsync();
        var doomed = TestEvents.Create(Alice, T0, content: "oops");
        var kept = TestEvents.Create(Alice, T0 + 1, content: "fine");
        var bobs = TestEvents.Create(Bob, T0, content: "bob's");
        foreach (var evt in new[] { doomed, kept, bobs }) await SaveNextAsync(store, evt);
        var request = TestEvents.Create(Alice, T0 + 10, DeletionRequest, [["e", doomed.Id], ["e", bobs.Id], ["k", "1"]], "published by accident");

        var saved = await SaveNextAsync(store, request);

        Assert.Equal(SaveOutcome.Saved, saved.Outcome);
        Assert.Equal(NewestFirst(request, kept), await IdsAsync(store, new Filter { Authors = [Alice] }));
        Assert.Equal([bobs.Id], await IdsAsync(store, new Filter { Authors = [Bob] }));
        Assert.Equal([request.Id], await IdsAsync(store, new Filter { Kinds = [DeletionRequest], Tags = [new TagFilter('e', [doomed.Id])] }));
    }

    [Fact]
    public async Task a_deleted_event_is_not_stored_again_and_the_stream_does_not_move()
    {
        await using var store = await CreateEmptyStoreAsync();
        var doomed = TestEvents.Create(Alice, T0);
        await SaveNextAsync(store, doomed);
        await SaveNextAsync(store, TestEvents.Create(Alice, T0 + 10, DeletionRequest, [["e", doomed.Id]]));

        var again = await store.SaveAsync(doomed, Alice, 2);

        Assert.Equal(SaveResult.Deleted, again);
        Assert.Equal(2, await store.ReadStreamHeadAsync(Alice));
        Assert.Empty(await IdsAsync(store, new Filter { Ids = [doomed.Id] }));
    }

    [Fact]
    public async Task a_request_that_arrives_first_keeps_the_authors_event_out_but_not_another_authors()
    {
        await using var store = await CreateEmptyStoreAsync();
        var alices = TestEvents.Create(Alice, T0, content: "later");
        var bobs = TestEvents.Create(Bob, T0, content: "bob's");
        await SaveNextAsync(store, TestEvents.Create(Alice, T0 + 10, DeletionRequest, [["e", alices.Id], ["e", bobs.Id]]));

        Assert.Equal(SaveResult.Deleted, await SaveNextAsync(store, alices));
        Assert.Equal(SaveOutcome.Saved, (await SaveNextAsync(store, bobs)).Outcome);
    }

    [Fact]
    public async Task an_address_deletion_removes_the_versions_up_to_its_time_and_takes_newer_ones()
    {
        await using var store = await CreateEmptyStoreAsync();
        var address = $"{LongForm}:{Alice}:post";
        var first = TestEvents.Create(Alice, T0, LongForm, [["d", "post"]], "v1");
        var otherPost = TestEvents.Create(Alice, T0, LongForm, [["d", "other"]], "kept");
        await SaveNextAsync(store, first);
        await SaveNextAsync(store, otherPost);
        await SaveNextAsync(store, TestEvents.Create(Alice, T0 + 10, DeletionRequest, [["a", address], ["k", "30023"]]));

        var older = await SaveNextAsync(store, TestEvents.Create(Alice, T0 + 5, LongForm, [["d", "post"]], "v2, before the request"));
        var newer = TestEvents.Create(Alice, T0 + 20, LongForm, [["d", "post"]], "v3, after the request");
        var newerSaved = await SaveNextAsync(store, newer);

        Assert.Equal(SaveResult.Deleted, older);
        Assert.Equal(SaveOutcome.Saved, newerSaved.Outcome);
        Assert.Equal(NewestFirst(newer, otherPost), await IdsAsync(store, new Filter { Kinds = [LongForm] }));
    }

    [Fact]
    public async Task a_replaceable_event_is_deleted_by_its_address_with_an_empty_d()
    {
        await using var store = await CreateEmptyStoreAsync();
        var profile = TestEvents.Create(Alice, T0, EventKind.Metadata, content: """{"name":"alice"}""");
        await SaveNextAsync(store, profile);

        await SaveNextAsync(store, TestEvents.Create(Alice, T0 + 10, DeletionRequest, [["a", $"0:{Alice}:"]]));

        Assert.Empty(await IdsAsync(store, new Filter { Kinds = [EventKind.Metadata] }));
    }

    [Fact]
    public async Task an_address_of_another_pubkey_is_not_deleted()
    {
        await using var store = await CreateEmptyStoreAsync();
        var bobs = TestEvents.Create(Bob, T0, LongForm, [["d", "post"]]);
        await SaveNextAsync(store, bobs);

        await SaveNextAsync(store, TestEvents.Create(Alice, T0 + 10, DeletionRequest, [["a", $"{LongForm}:{Bob}:post"]]));

        Assert.Equal([bobs.Id], await IdsAsync(store, new Filter { Kinds = [LongForm] }));
    }

    [Fact]
    public async Task a_deletion_request_against_a_deletion_request_has_no_effect()
    {
        await using var store = await CreateEmptyStoreAsync();
        var doomed = TestEvents.Create(Alice, T0);
        var request = TestEvents.Create(Alice, T0 + 10, DeletionRequest, [["e", doomed.Id]]);
        await SaveNextAsync(store, doomed);
        await SaveNextAsync(store, request);

        var undo = TestEvents.Create(Alice, T0 + 20, DeletionRequest, [["e", request.Id]]);
        Assert.Equal(SaveOutcome.Saved, (await SaveNextAsync(store, undo)).Outcome);

        Assert.Equal(NewestFirst(undo, request), await IdsAsync(store, new Filter { Authors = [Alice] }));
        Assert.Equal(SaveResult.Deleted, await SaveNextAsync(store, doomed));
    }

    [Fact]
    public async Task a_gift_wrap_is_deleted_by_the_recipient_its_p_tag_names_when_the_request_says_k_1059()
    {
        await using var store = await CreateEmptyStoreAsync();
        var wrapper = TestEvents.Pubkey("one-time wrapper");
        var wrap = TestEvents.Create(wrapper, T0, GiftWrap, [["p", Alice]], "sealed");
        var otherWrap = TestEvents.Create(wrapper, T0 + 1, GiftWrap, [["p", Bob]], "sealed for bob");
        await SaveNextAsync(store, wrap);
        await SaveNextAsync(store, otherWrap);

        await SaveNextAsync(store, TestEvents.Create(Carol, T0 + 5, DeletionRequest, [["e", wrap.Id], ["k", "1059"]]));
        await SaveNextAsync(store, TestEvents.Create(Alice, T0 + 6, DeletionRequest, [["e", otherWrap.Id], ["k", "1059"]]));
        Assert.Equal(NewestFirst(wrap, otherWrap), await IdsAsync(store, new Filter { Kinds = [GiftWrap] }));

        await SaveNextAsync(store, TestEvents.Create(Alice, T0 + 10, DeletionRequest, [["e", wrap.Id], ["k", "1059"]]));

        Assert.Equal([otherWrap.Id], await IdsAsync(store, new Filter { Kinds = [GiftWrap] }));
        Assert.Equal(SaveResult.Deleted, await SaveNextAsync(store, wrap));
    }
}
