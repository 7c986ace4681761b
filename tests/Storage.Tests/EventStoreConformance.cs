using NostrRelay.Protocol;

namespace NostrRelay.Storage.Tests;

/// <summary>
/// What every <see cref="IEventStore"/> does alike. A backend's test class only says how to make an empty,
/// initialised store; each test disposes the store it made.
/// </summary>
public abstract partial class EventStoreConformance
{
    /// <summary>An initialised store with nothing in it.</summary>
    protected abstract Task<IEventStore> CreateEmptyStoreAsync();

    private const long T0 = 1_700_000_000;
    private static readonly string Alice = TestEvents.Pubkey("alice");
    private static readonly string Bob = TestEvents.Pubkey("bob");
    private static readonly string Carol = TestEvents.Pubkey("carol");

    private static async Task<List<NostrEvent>> QueryAsync(IEventStore store, Filter filter) =>
        await store.QueryAsync(filter).ToListAsync();

    private static async Task<List<string>> IdsAsync(IEventStore store, Filter filter) =>
        (await QueryAsync(store, filter)).Select(e => e.Id).ToList();

    private static List<string> NewestFirst(params IEnumerable<NostrEvent> events) =>
        events.Order(Comparer<NostrEvent>.Create(NostrEvent.CompareNewestFirst)).Select(e => e.Id).ToList();

    private static Task AppendAllAsync(IEventStore store, params NostrEvent[] events) => Seed.AppendAllAsync(store, events);

    // ---- reading back ----

    [Fact]
    public async Task saved_event_comes_back_with_the_same_fields_and_bytes()
    {
        await using var store = await CreateEmptyStoreAsync();
        var note = TestEvents.Create(Alice, T0, tags: [["e", new string('1', 64), "wss://relay.example"], ["t", "nostr"]], content: "gm ☕ \u2028 \"quoted\"");
        Assert.Equal(SaveOutcome.Saved, (await store.SaveAsync(note, Alice, 0)).Outcome);

        var stored = Assert.Single(await QueryAsync(store, Filter.Everything));
        Assert.Equal(note.Json, stored.Json);
        Assert.Equal(note.Id, stored.Id);
        Assert.Equal(note.Pubkey, stored.Pubkey);
        Assert.Equal(note.CreatedAt, stored.CreatedAt);
        Assert.Equal(note.Kind, stored.Kind);
        Assert.Equal(note.Content, stored.Content);
        Assert.Equal(note.Sig, stored.Sig);
        Assert.Equal(note.Tags, stored.Tags);
    }

    [Fact]
    public async Task query_by_ids_returns_exactly_those_events()
    {
        await using var store = await CreateEmptyStoreAsync();
        var a = TestEvents.Create(Alice, T0, content: "a");
        var b = TestEvents.Create(Alice, T0 + 1, content: "b");
        var c = TestEvents.Create(Bob, T0 + 2, content: "c");
        await AppendAllAsync(store, a, b, c);

        Assert.Equal(NewestFirst(a, c), await IdsAsync(store, new Filter { Ids = [a.Id, c.Id, new string('f', 64)] }));
        Assert.Empty(await IdsAsync(store, new Filter { Ids = [new string('f', 64)] }));
    }

    [Fact]
    public async Task query_by_authors_returns_only_their_events()
    {
        await using var store = await CreateEmptyStoreAsync();
        var a = TestEvents.Create(Alice, T0);
        var b = TestEvents.Create(Bob, T0 + 1);
        var c = TestEvents.Create(Carol, T0 + 2);
        await AppendAllAsync(store, a, b, c);

        Assert.Equal([a.Id], await IdsAsync(store, new Filter { Authors = [Alice] }));
        Assert.Equal(NewestFirst(a, c), await IdsAsync(store, new Filter { Authors = [Alice, Carol] }));
    }

    [Fact]
    public async Task query_by_kinds_returns_only_those_kinds()
    {
        await using var store = await CreateEmptyStoreAsync();
        var note = TestEvents.Create(Alice, T0, EventKind.TextNote);
        var reaction = TestEvents.Create(Alice, T0 + 1, 7, [["e", new string('1', 64)]], "+");
        var repost = TestEvents.Create(Bob, T0 + 2, 6);
        await AppendAllAsync(store, note, reaction, repost);

        Assert.Equal([note.Id], await IdsAsync(store, new Filter { Kinds = [EventKind.TextNote] }));
        Assert.Equal(NewestFirst(reaction, repost), await IdsAsync(store, new Filter { Kinds = [6, 7] }));
        Assert.Empty(await IdsAsync(store, new Filter { Kinds = [9735] }));
    }

    [Fact]
    public async Task query_by_e_tag_returns_the_events_that_reference_it()
    {
        await using var store = await CreateEmptyStoreAsync();
        var root = TestEvents.Create(Alice, T0, content: "root");
        var reply = TestEvents.Create(Bob, T0 + 1, tags: [["e", root.Id, "", "root"], ["p", Alice]], content: "reply");
        var other = TestEvents.Create(Carol, T0 + 2, tags: [["e", new string('2', 64)]], content: "other");
        await AppendAllAsync(store, root, reply, other);

        Assert.Equal([reply.Id], await IdsAsync(store, new Filter { Tags = [new TagFilter('e', [root.Id])] }));
    }

    [Fact]
    public async Task query_by_p_tag_matches_any_of_the_listed_values()
    {
        await using var store = await CreateEmptyStoreAsync();
        var toBob = TestEvents.Create(Alice, T0, tags: [["p", Bob]]);
        var toCarol = TestEvents.Create(Alice, T0 + 1, tags: [["p", Carol]]);
        var toAlice = TestEvents.Create(Bob, T0 + 2, tags: [["p", Alice]]);
        await AppendAllAsync(store, toBob, toCarol, toAlice);

        Assert.Equal([toBob.Id], await IdsAsync(store, new Filter { Tags = [new TagFilter('p', [Bob])] }));
        Assert.Equal(NewestFirst(toBob, toCarol), await IdsAsync(store, new Filter { Tags = [new TagFilter('p', [Bob, Carol])] }));
    }

    [Fact]
    public async Task tag_conditions_on_two_letters_must_both_hold()
    {
        await using var store = await CreateEmptyStoreAsync();
        var both = TestEvents.Create(Alice, T0, tags: [["p", Bob], ["t", "nostr"]]);
        var onlyP = TestEvents.Create(Alice, T0 + 1, tags: [["p", Bob], ["t", "bitcoin"]]);
        var onlyT = TestEvents.Create(Alice, T0 + 2, tags: [["p", Carol], ["t", "nostr"]]);
        await AppendAllAsync(store, both, onlyP, onlyT);

        var filter = new Filter { Tags = [new TagFilter('p', [Bob]), new TagFilter('t', ["nostr"])] };
        Assert.Equal([both.Id], await IdsAsync(store, filter));
    }

    [Fact]
    public async Task two_conditions_on_one_letter_must_both_hold()
    {
        await using var store = await CreateEmptyStoreAsync();
        var both = TestEvents.Create(Alice, T0, tags: [["p", Bob], ["p", Carol]]);
        var onlyBob = TestEvents.Create(Alice, T0 + 1, tags: [["p", Bob]]);
        await AppendAllAsync(store, both, onlyBob);

        var filter = new Filter { Tags = [new TagFilter('p', [Bob]), new TagFilter('p', [Carol])] };
        Assert.Equal([both.Id], await IdsAsync(store, filter));
    }

    [Fact]
    public async Task every_tag_with_the_letter_counts_not_only_the_first()
    {
        await using var store = await CreateEmptyStoreAsync();
        var note = TestEvents.Create(Alice, T0, tags: [["p", Bob], ["p", Carol], ["p", Carol]]);
        await AppendAllAsync(store, note);

        Assert.Equal([note.Id], await IdsAsync(store, new Filter { Tags = [new TagFilter('p', [Carol])] }));
        Assert.Equal([note.Id], await IdsAsync(store, new Filter { Tags = [new TagFilter('p', [Bob, Carol])] }));
    }

    [Fact]
    public async Task only_the_first_value_of_a_one_letter_tag_is_matched()
    {
        await using var store = await CreateEmptyStoreAsync();
        var note = TestEvents.Create(Alice, T0, tags: [["p", Bob, "wss://relay.example", Carol], ["e"], ["pp", Carol], ["t", ""]]);
        await AppendAllAsync(store, note);

        Assert.Empty(await IdsAsync(store, new Filter { Tags = [new TagFilter('p', [Carol])] }));
        Assert.Empty(await IdsAsync(store, new Filter { Tags = [new TagFilter('p', ["wss://relay.example"])] }));
        Assert.Empty(await IdsAsync(store, new Filter { Tags = [new TagFilter('e', [""])] }));
        Assert.Empty(await IdsAsync(store, new Filter { Tags = [new TagFilter('P', [Bob])] }));
        Assert.Equal([note.Id], await IdsAsync(store, new Filter { Tags = [new TagFilter('t', [""])] }));
    }

    [Fact]
    public async Task since_and_until_are_inclusive()
    {
        await using var store = await CreateEmptyStoreAsync();
        var events = Enumerable.Range(0, 5).Select(i => TestEvents.Create(Alice, T0 + i)).ToArray();
        await AppendAllAsync(store, events);

        Assert.Equal(NewestFirst(events[2..]), await IdsAsync(store, new Filter { Since = T0 + 2 }));
        Assert.Equal(NewestFirst(events[..3]), await IdsAsync(store, new Filter { Until = T0 + 2 }));
        Assert.Equal(NewestFirst(events[1..4]), await IdsAsync(store, new Filter { Since = T0 + 1, Until = T0 + 3 }));
        Assert.Equal([events[2].Id], await IdsAsync(store, new Filter { Since = T0 + 2, Until = T0 + 2 }));
    }

    [Fact]
    public async Task since_after_until_matches_nothing()
    {
        await using var store = await CreateEmptyStoreAsync();
        await AppendAllAsync(store, TestEvents.Create(Alice, T0), TestEvents.Create(Alice, T0 + 1));

        var filter = new Filter { Since = T0 + 1, Until = T0 };
        Assert.Empty(await IdsAsync(store, filter));
        Assert.Equal(0, await store.CountAsync(filter));
    }

    [Fact]
    public async Task every_condition_of_a_filter_must_hold()
    {
        await using var store = await CreateEmptyStoreAsync();
        var hit = TestEvents.Create(Alice, T0 + 5, 7, [["p", Bob]], "+");
        var wrongAuthor = TestEvents.Create(Carol, T0 + 5, 7, [["p", Bob]], "+");
        var wrongKind = TestEvents.Create(Alice, T0 + 5, 1, [["p", Bob]], "+");
        var wrongTag = TestEvents.Create(Alice, T0 + 5, 7, [["p", Carol]], "+");
        var tooOld = TestEvents.Create(Alice, T0, 7, [["p", Bob]], "+");
        await AppendAllAsync(store, hit, wrongAuthor, wrongKind, wrongTag, tooOld);

        var filter = new Filter { Authors = [Alice, Bob], Kinds = [7], Tags = [new TagFilter('p', [Bob])], Since = T0 + 1 };
        Assert.Equal([hit.Id], await IdsAsync(store, filter));
        Assert.Equal(1, await store.CountAsync(filter));
    }

    [Fact]
    public async Task an_empty_list_matches_nothing()
    {
        await using var store = await CreateEmptyStoreAsync();
        await AppendAllAsync(store, TestEvents.Create(Alice, T0, tags: [["p", Bob]]));

        Filter[] filters =
        [
            new() { Ids = [] }, new() { Authors = [] }, new() { Kinds = [] }, new() { Tags = [new TagFilter('p', [])] },
            new() { Authors = [Alice], Tags = [new TagFilter('p', [Bob]), new TagFilter('e', [])] },
        ];
        foreach (var filter in filters)
        {
            Assert.Empty(await IdsAsync(store, filter));
            Assert.Equal(0, await store.CountAsync(filter));
        }
    }

    [Fact]
    public async Task long_value_lists_match_like_short_ones()
    {
        await using var store = await CreateEmptyStoreAsync();
        var authors = Enumerable.Range(0, 300).Select(i => TestEvents.Pubkey($"author {i}")).ToArray();
        var events = authors.Select((a, i) => TestEvents.Create(a, T0 + i % 7, i % 3 == 0 ? 7 : 1, [["p", authors[(i + 1) % 300]]])).ToArray();
        await AppendAllAsync(store, events);

        var someAuthors = authors.Where((_, i) => i % 2 == 0).Append(new string('f', 64)).ToArray();
        var someKinds = Enumerable.Range(2, 400).Append(7).ToArray();
        var someTags = authors.Where((_, i) => i % 5 == 0).ToArray();
        Filter[] filters =
        [
            new() { Authors = someAuthors }, new() { Kinds = someKinds }, new() { Tags = [new TagFilter('p', someTags)] },
            new() { Ids = events.Where((_, i) => i % 4 == 0).Select(e => e.Id).ToArray() },
            new() { Authors = someAuthors, Kinds = someKinds, Tags = [new TagFilter('p', someTags)], Limit = 5 },
        ];
        foreach (var filter in filters)
        {
            var expected = NewestFirst(events.Where(filter.Matches)).Take(filter.Limit ?? int.MaxValue).ToList();
            Assert.NotEmpty(expected);
            Assert.Equal(expected, await IdsAsync(store, filter));
            Assert.Equal(events.Count(filter.Matches), await store.CountAsync(filter));
        }
    }

    [Fact]
    public async Task a_value_that_looks_like_a_key_matches_only_itself()
    {
        await using var store = await CreateEmptyStoreAsync();
        var key = TestEvents.Pubkey("a key");
        // A NUL ends a string for some of SQLite's functions: the digits before it must not stand for the whole value.
        string[] values = [key, key.ToUpperInvariant(), key[..63], key + "0", key[..63] + "g", "x" + key[1..], key + "\u0000",
            key[..63] + "\u0000", key + "\u0000zz"];
        var events = values.Select((value, i) => TestEvents.Create(Alice, T0 + i, tags: [["t", value]])).ToArray();
        await AppendAllAsync(store, events);

        // One value alone, and the same among enough others that the list goes to the store in its long form.
        var padding = Enumerable.Range(0, 200).Select(i => TestEvents.Pubkey($"padding {i}")).ToArray();
        for (var i = 0; i < values.Length; i++)
        {
            Assert.Equal([events[i].Id], await IdsAsync(store, new Filter { Tags = [new TagFilter('t', [values[i]])] }));
            Assert.Equal([events[i].Id], await IdsAsync(store, new Filter { Tags = [new TagFilter('t', [.. padding, values[i]])] }));
        }
        Assert.Empty(await IdsAsync(store, new Filter { Ids = [events[0].Id.ToUpperInvariant()] }));
        Assert.Empty(await IdsAsync(store, new Filter { Authors = [Alice.ToUpperInvariant()] }));
        Assert.Empty(await IdsAsync(store, new Filter { Authors = [.. padding, Alice.ToUpperInvariant()] }));
    }

    // ---- order and limit ----

    [Fact]
    public async Task results_come_newest_first()
    {
        await using var store = await CreateEmptyStoreAsync();
        var events = new[] { T0 + 3, T0, T0 + 9, T0 + 1 }.Select(t => TestEvents.Create(Alice, t)).ToArray();
        await AppendAllAsync(store, events);

        var times = (await QueryAsync(store, Filter.Everything)).Select(e => e.CreatedAt);
        Assert.Equal([T0 + 9, T0 + 3, T0 + 1, T0], times);
    }

    [Fact]
    public async Task same_second_events_come_back_lowest_id_first()
    {
        await using var store = await CreateEmptyStoreAsync();
        await Seed.SameSecondNotesAsync(store, Alice, count: 12);
        await Seed.SameSecondNotesAsync(store, Bob, count: 12);

        var ids = await IdsAsync(store, Filter.Everything);
        Assert.Equal(24, ids.Count);
        Assert.Equal(ids.Order(StringComparer.Ordinal), ids);
        var alices = await IdsAsync(store, new Filter { Authors = [Alice] });
        Assert.Equal(alices.Order(StringComparer.Ordinal), alices);
    }

    [Fact]
    public async Task limit_keeps_the_newest_events_and_breaks_ties_by_lowest_id()
    {
        await using var store = await CreateEmptyStoreAsync();
        var newest = TestEvents.Create(Alice, T0 + 10);
        var tied = await Seed.SameSecondNotesAsync(store, Bob, count: 6, createdAt: T0 + 5);
        await AppendAllAsync(store, newest, TestEvents.Create(Alice, T0));

        var expected = new[] { newest.Id }.Concat(tied.Select(e => e.Id).Order(StringComparer.Ordinal).Take(3));
        Assert.Equal(expected, await IdsAsync(store, new Filter { Limit = 4 }));
        Assert.Equal([newest.Id], await IdsAsync(store, new Filter { Limit = 1 }));
        // The same cut inside one author's events and inside one kind's, which an index orders by time alone.
        Assert.Equal(tied.Select(e => e.Id).Order(StringComparer.Ordinal).Take(3), await IdsAsync(store, new Filter { Authors = [Bob], Limit = 3 }));
        Assert.Equal(expected, await IdsAsync(store, new Filter { Kinds = [newest.Kind], Limit = 4 }));
    }

    [Fact]
    public async Task limit_zero_returns_nothing()
    {
        await using var store = await CreateEmptyStoreAsync();
        await AppendAllAsync(store, TestEvents.Create(Alice, T0));

        Assert.Empty(await IdsAsync(store, new Filter { Limit = 0 }));
    }

    [Fact]
    public async Task without_a_limit_every_match_comes_back_in_order()
    {
        await using var store = await CreateEmptyStoreAsync();
        // More events than a reader page, with runs of equal created_at that straddle page ends.
        var authors = Enumerable.Range(0, 20).Select(i => TestEvents.Pubkey($"writer {i}")).ToArray();
        var events = Enumerable.Range(0, 1_300).Select(i => TestEvents.Create(authors[i % 20], T0 + i / 7, content: $"n{i}")).ToArray();
        await Seed.AppendAllAsync(store, events);

        Assert.Equal(NewestFirst(events), await IdsAsync(store, Filter.Everything));
        Assert.Equal(NewestFirst(events).Take(777), await IdsAsync(store, new Filter { Limit = 777 }));
        var byTwo = new Filter { Authors = authors[..2] };
        Assert.Equal(NewestFirst(events.Where(byTwo.Matches)), await IdsAsync(store, byTwo));
        // One kind: an index gives time order alone, and the runs of one second cross the page ends.
        var notes = new Filter { Kinds = [events[0].Kind] };
        Assert.Equal(NewestFirst(events), await IdsAsync(store, notes));
        Assert.Equal(NewestFirst(events).Take(777), await IdsAsync(store, notes with { Limit = 777 }));
    }

    [Fact]
    public async Task many_events_in_one_second_come_back_in_id_order_around_a_limit()
    {
        await using var store = await CreateEmptyStoreAsync();
        // A second holding more events than any reader takes past a page to finish it, between two others.
        var events = Enumerable.Range(0, 300).Select(i => TestEvents.Create(Alice, T0 + (i < 10 ? 2 : i < 290 ? 1 : 0), content: $"n{i}")).ToArray();
        await Seed.AppendAllAsync(store, events);

        foreach (var limit in new[] { 5, 11, 100, 289, 300 })
        {
            Assert.Equal(NewestFirst(events).Take(limit), await IdsAsync(store, new Filter { Authors = [Alice], Limit = limit }));
            Assert.Equal(NewestFirst(events).Take(limit), await IdsAsync(store, new Filter { Kinds = [events[0].Kind], Limit = limit }));
        }
    }

    // ---- duplicates, versions and positions ----

    [Fact]
    public async Task saving_a_known_id_is_a_duplicate_and_changes_nothing()
    {
        await using var store = await CreateEmptyStoreAsync();
        var note = TestEvents.Create(Alice, T0);
        var first = await store.SaveAsync(note, Alice, 0);
        Assert.Equal(new SaveResult(SaveOutcome.Saved, 1, first.Position), first);

        Assert.Equal(SaveResult.Duplicate, await store.SaveAsync(note, Alice, 1));
        Assert.Equal(SaveResult.Duplicate, await store.SaveAsync(note, Alice, 0));
        Assert.Equal(SaveResult.Duplicate, await store.SaveAsync(note, Bob, 0));
        Assert.Equal(1, await store.ReadStreamHeadAsync(Alice));
        Assert.Equal(0, await store.ReadStreamHeadAsync(Bob));
        Assert.Equal(1, await store.CountAsync(Filter.Everything));
    }

    [Fact]
    public async Task saving_at_a_version_other_than_the_head_is_a_version_conflict()
    {
        await using var store = await CreateEmptyStoreAsync();
        Assert.Equal(SaveOutcome.Saved, (await store.SaveAsync(TestEvents.Create(Alice, T0, content: "1"), Alice, 0)).Outcome);
        Assert.Equal(SaveOutcome.Saved, (await store.SaveAsync(TestEvents.Create(Alice, T0, content: "2"), Alice, 1)).Outcome);

        var late = TestEvents.Create(Alice, T0, content: "3");
        Assert.Equal(SaveResult.VersionConflict, await store.SaveAsync(late, Alice, 1));
        Assert.Equal(SaveResult.VersionConflict, await store.SaveAsync(late, Alice, 3));
        Assert.Equal(SaveResult.VersionConflict, await store.SaveAsync(late, Bob, 1));
        Assert.Equal(2, await store.ReadStreamHeadAsync(Alice));
        Assert.Empty(await IdsAsync(store, new Filter { Ids = [late.Id] }));
    }

    [Fact]
    public async Task stream_head_of_an_unknown_stream_is_zero()
    {
        await using var store = await CreateEmptyStoreAsync();
        Assert.Equal(0, await store.ReadStreamHeadAsync(Alice));
    }

    [Fact]
    public async Task versions_are_contiguous_per_stream_and_positions_increase()
    {
        await using var store = await CreateEmptyStoreAsync();
        var results = new List<SaveResult>();
        for (var i = 0; i < 6; i++)
        {
            var stream = i % 2 == 0 ? Alice : Bob;
            var pubkey = stream;
            results.Add(await store.SaveAsync(TestEvents.Create(pubkey, T0 + i), stream, i / 2));
        }

        Assert.All(results, r => Assert.Equal(SaveOutcome.Saved, r.Outcome));
        Assert.Equal([1, 1, 2, 2, 3, 3], results.Select(r => r.Version));
        for (var i = 1; i < results.Count; i++) Assert.True(results[i].Position > results[i - 1].Position);
        Assert.Equal(3, await store.ReadStreamHeadAsync(Alice));
        Assert.Equal(3, await store.ReadStreamHeadAsync(Bob));
    }

    [Fact]
    public async Task versions_and_positions_are_not_reused_after_a_delete()
    {
        await using var store = await CreateEmptyStoreAsync();
        var first = TestEvents.Create(Alice, T0, content: "1");
        var second = TestEvents.Create(Alice, T0 + 1, content: "2");
        await store.SaveAsync(first, Alice, 0);
        var saved = await store.SaveAsync(second, Alice, 1);

        Assert.True(await store.DeleteAsync(second.Id));
        Assert.Equal(2, await store.ReadStreamHeadAsync(Alice));
        Assert.Equal(SaveResult.VersionConflict, await store.SaveAsync(TestEvents.Create(Alice, T0 + 2), Alice, 1));

        var third = await store.SaveAsync(TestEvents.Create(Alice, T0 + 3), Alice, 2);
        Assert.Equal(SaveOutcome.Saved, third.Outcome);
        Assert.Equal(3, third.Version);
        Assert.True(third.Position > saved.Position);
    }

    [Fact]
    public async Task a_deleted_event_can_be_saved_again_at_a_new_version()
    {
        await using var store = await CreateEmptyStoreAsync();
        var note = TestEvents.Create(Alice, T0);
        var first = await store.SaveAsync(note, Alice, 0);
        Assert.True(await store.DeleteAsync(note.Id));

        var again = await store.SaveAsync(note, Alice, 1);
        Assert.Equal(SaveOutcome.Saved, again.Outcome);
        Assert.Equal(2, again.Version);
        Assert.True(again.Position > first.Position);
    }

    // ---- replaceable and addressable events ----

    [Fact]
    public async Task a_newer_replaceable_event_replaces_the_older()
    {
        await using var store = await CreateEmptyStoreAsync();
        var old = TestEvents.Create(Alice, T0, EventKind.Metadata, content: """{"name":"alice"}""");
        var renamed = TestEvents.Create(Alice, T0 + 60, EventKind.Metadata, content: """{"name":"alice2"}""");
        var bobs = TestEvents.Create(Bob, T0, EventKind.Metadata, content: """{"name":"bob"}""");
        Assert.Equal(SaveOutcome.Saved, (await store.ReplaceAsync(old, Alice, 0)).Outcome);
        Assert.Equal(SaveOutcome.Saved, (await store.ReplaceAsync(bobs, Bob, 0)).Outcome);

        var replaced = await store.ReplaceAsync(renamed, Alice, 1);
        Assert.Equal(SaveOutcome.Saved, replaced.Outcome);
        Assert.Equal(2, replaced.Version);
        Assert.Equal(NewestFirst(renamed, bobs), await IdsAsync(store, new Filter { Kinds = [EventKind.Metadata] }));
        Assert.Empty(await IdsAsync(store, new Filter { Ids = [old.Id] }));
    }

    [Fact]
    public async Task replaceable_and_addressable_kinds_of_named_authors_come_back_from_among_their_other_events()
    {
        await using var store = await CreateEmptyStoreAsync();
        var authors = Enumerable.Range(0, 40).Select(i => TestEvents.Pubkey($"follow {i}")).ToArray();
        var events = new List<NostrEvent>();
        for (var i = 0; i < authors.Length; i++)
        {
            var author = authors[i];
            events.Add(TestEvents.Create(author, T0 + i % 3, EventKind.Metadata, content: $$"""{"name":"n{{i}}"}"""));   // seconds shared
            if (i % 2 == 0) events.Add(TestEvents.Create(author, T0 + 5 + i, 10_002, [["r", "wss://relay.example/"]]));
            if (i % 3 == 0) events.Add(TestEvents.Create(author, T0 + 7, 30_023, [["d", "post"]], content: "an article"));
            if (i % 3 == 1) events.Add(TestEvents.Create(author, T0 + 8 + i, 30_023, [["d", "draft"], ["d", "post"]], content: "two d tags"));
            if (i % 5 == 0) events.Add(TestEvents.Create(author, T0 + 9, 30_000, content: "a set without a d tag"));
            for (var n = 0; n < 12; n++) events.Add(TestEvents.Create(author, T0 + 100 + n * 40 + i, content: $"note {n}"));
        }
        await AppendAllAsync(store, [.. events]);

        var followed = authors.Where((_, i) => i % 4 != 1).Append(new string('f', 64)).ToArray();
        Filter[] filters =
        [
            new() { Authors = followed, Kinds = [EventKind.Metadata] },
            new() { Authors = followed, Kinds = [EventKind.Metadata], Limit = 7 },
            new() { Authors = followed, Kinds = [EventKind.Metadata, 10_002, EventKind.FollowList], Limit = 25 },
            new() { Authors = followed, Kinds = [10_002, EventKind.Metadata], Since = T0 + 1, Until = T0 + 20 },
            new() { Authors = followed, Kinds = [10_002], Tags = [new TagFilter('r', ["wss://relay.example/"])], Limit = 3 },
            new() { Authors = [authors[3]], Kinds = [EventKind.Metadata] },
            new() { Authors = authors, Kinds = [30_023, EventKind.Metadata], Limit = 10 },
            new() { Authors = followed, Kinds = [30_023] },
            new() { Authors = followed, Kinds = [30_023], Tags = [new TagFilter('d', ["post"])], Limit = 4 },   // any d tag, not only the first
            new() { Authors = followed, Kinds = [30_000, 30_023, 10_002], Until = T0 + 9, Limit = 9 },
            new() { Authors = authors, Kinds = [EventKind.TextNote, EventKind.Metadata], Limit = 30 },   // a regular kind: by the author index
        ];
        foreach (var filter in filters)
        {
            var expected = NewestFirst(events.Where(filter.Matches)).Take(filter.Limit ?? int.MaxValue).ToList();
            Assert.NotEmpty(expected);
            Assert.Equal(expected, await IdsAsync(store, filter));
            Assert.Equal(events.Count(filter.Matches), await store.CountAsync(filter));
        }
    }

    [Fact]
    public async Task a_pubkeys_notifications_of_some_kinds_come_back_from_among_many_events_of_other_kinds_that_name_it()
    {
        await using var store = await CreateEmptyStoreAsync();
        var alice = TestEvents.Pubkey("popular alice");
        var bob = TestEvents.Pubkey("popular bob");
        var note = TestEvents.Create(alice, T0, content: "the note everyone reacts to");
        var events = new List<NostrEvent> { note };
        for (var i = 0; i < 240; i++)   // ten minutes apart, over forty hours: mostly reactions and follow lists
        {
            var author = TestEvents.Pubkey($"reader {i % 31}");
            var at = T0 + 1 + i * 600L;
            events.Add((i % 8) switch
            {
                0 => TestEvents.Create(author, at, EventKind.TextNote, [["e", note.Id], ["p", alice]], $"reply {i}"),
                1 => TestEvents.Create(author, at, EventKind.FollowList, [["p", alice], ["p", bob]]),   // names both
                2 => TestEvents.Create(author, at, 6, [["e", note.Id], ["p", alice]], $"repost {i}"),
                3 => TestEvents.Create(author, at, EventKind.TextNote, [["p", bob]], $"to bob {i}"),
                _ => TestEvents.Create(author, at, 7, [["e", note.Id], ["p", i % 2 == 0 ? alice : bob], ["p", alice]], "+"),
            });
        }
        await AppendAllAsync(store, [.. events]);

        Filter[] filters =
        [
            new() { Kinds = [EventKind.TextNote], Tags = [new TagFilter('p', [alice])], Limit = 5 },
            new() { Kinds = [EventKind.TextNote, 6, 9_735], Tags = [new TagFilter('p', [alice])], Limit = 20 },
            new() { Kinds = [EventKind.TextNote, 6], Tags = [new TagFilter('p', [alice, bob])], Limit = 12 },
            new() { Kinds = [7], Tags = [new TagFilter('p', [alice, bob])] },
            new() { Kinds = [7], Tags = [new TagFilter('e', [note.Id])], Since = T0 + 30_000, Until = T0 + 90_000 },
            new() { Kinds = [EventKind.FollowList], Tags = [new TagFilter('p', [bob])], Until = T0 + 100_000, Limit = 3 },
            new() { Kinds = [EventKind.TextNote], Tags = [new TagFilter('p', [alice]), new TagFilter('e', [note.Id])], Limit = 4 },
            new() { Kinds = [7, EventKind.TextNote], Authors = [TestEvents.Pubkey("reader 4")], Tags = [new TagFilter('p', [alice])] },
            new() { Tags = [new TagFilter('p', [alice, bob])], Limit = 30 },
        ];
        foreach (var filter in filters)
        {
            var expected = NewestFirst(events.Where(filter.Matches)).Take(filter.Limit ?? int.MaxValue).ToList();
            Assert.NotEmpty(expected);
            Assert.Equal(expected, await IdsAsync(store, filter));
            Assert.Equal(events.Count(filter.Matches), await store.CountAsync(filter));
        }
        var none = new Filter { Kinds = [9_735], Tags = [new TagFilter('p', [alice, bob])], Limit = 10 };
        Assert.Empty(await IdsAsync(store, none));
        Assert.Equal(0, await store.CountAsync(none));
    }

    [Fact]
    public async Task a_page_of_several_tag_values_cut_inside_a_crowded_second_keeps_its_lowest_ids()
    {
        await using var store = await CreateEmptyStoreAsync();
        var values = Enumerable.Range(0, 3).Select(i => TestEvents.Pubkey($"value {i}")).ToArray();
        var events = new List<NostrEvent>();
        for (var i = 0; i < 60; i++)   // forty in one second, some naming two of the values, the rest older
        {
            var at = i < 40 ? T0 + 50 : T0 + i % 7;
            string[][] tags = i % 5 == 0 ? [["p", values[i % 3]], ["p", values[(i + 1) % 3]]] : [["p", values[i % 3]]];
            events.Add(TestEvents.Create(TestEvents.Pubkey($"writer {i}"), at, i % 4 == 0 ? 7 : 1, tags, $"event {i}"));
        }
        await AppendAllAsync(store, [.. events]);

        Filter[] filters =
        [
            new() { Tags = [new TagFilter('p', values)], Limit = 7 },
            new() { Tags = [new TagFilter('p', values[..2])], Limit = 45 },
            new() { Tags = [new TagFilter('p', values)], Kinds = [1], Limit = 11 },
            new() { Tags = [new TagFilter('p', values)], Until = T0 + 5, Limit = 4 },
        ];
        foreach (var filter in filters)
        {
            var expected = NewestFirst(events.Where(filter.Matches)).Take(filter.Limit!.Value).ToList();
            Assert.NotEmpty(expected);
            Assert.Equal(expected, await IdsAsync(store, filter));
        }
    }

    [Fact]
    public async Task an_older_replaceable_event_is_superseded_and_changes_nothing()
    {
        await using var store = await CreateEmptyStoreAsync();
        var current = TestEvents.Create(Alice, T0 + 60, EventKind.FollowList, [["p", Bob]]);
        var stale = TestEvents.Create(Alice, T0, EventKind.FollowList, [["p", Carol]]);
        await store.ReplaceAsync(current, Alice, 0);

        Assert.Equal(SaveResult.Superseded, await store.ReplaceAsync(stale, Alice, 1));
        Assert.Equal(1, await store.ReadStreamHeadAsync(Alice));
        Assert.Equal([current.Id], await IdsAsync(store, new Filter { Authors = [Alice] }));
        Assert.Empty(await IdsAsync(store, new Filter { Tags = [new TagFilter('p', [Carol])] }));
    }

    [Fact]
    public async Task same_second_replaceable_events_keep_the_lowest_id()
    {
        await using var store = await CreateEmptyStoreAsync();
        var candidates = Enumerable.Range(0, 4)
            .Select(i => TestEvents.Create(Alice, T0, 10_002, [["r", $"wss://relay{i}.example"]]))
            .OrderBy(e => e.Id, StringComparer.Ordinal).ToArray();
        var (lowest, higher, highest) = (candidates[0], candidates[1], candidates[3]);

        Assert.Equal(SaveOutcome.Saved, (await store.ReplaceAsync(higher, Alice, 0)).Outcome);
        Assert.Equal(SaveResult.Superseded, await store.ReplaceAsync(highest, Alice, 1));
        Assert.Equal(SaveOutcome.Saved, (await store.ReplaceAsync(lowest, Alice, 1)).Outcome);
        Assert.Equal(SaveResult.Superseded, await store.ReplaceAsync(higher, Alice, 2));   // replaced, so no longer a duplicate

        Assert.Equal([lowest.Id], await IdsAsync(store, new Filter { Kinds = [10_002] }));
    }

    [Fact]
    public async Task replace_checks_duplicate_then_version_before_supersede()
    {
        await using var store = await CreateEmptyStoreAsync();
        var current = TestEvents.Create(Alice, T0 + 60, EventKind.Metadata);
        var stale = TestEvents.Create(Alice, T0, EventKind.Metadata);
        await store.ReplaceAsync(current, Alice, 0);

        Assert.Equal(SaveResult.Duplicate, await store.ReplaceAsync(current, Alice, 1));
        Assert.Equal(SaveResult.Duplicate, await store.ReplaceAsync(current, Alice, 7));
        Assert.Equal(SaveResult.VersionConflict, await store.ReplaceAsync(stale, Alice, 0));
        Assert.Equal(SaveResult.VersionConflict, await store.ReplaceAsync(TestEvents.Create(Alice, T0 + 90, EventKind.Metadata), Alice, 0));
        Assert.Equal([current.Id], await IdsAsync(store, new Filter { Authors = [Alice] }));
    }

    [Fact]
    public async Task addressable_events_with_different_d_tags_coexist()
    {
        await using var store = await CreateEmptyStoreAsync();
        var post = TestEvents.Create(Alice, T0, 30_023, [["d", "post"]], "v1");
        var other = TestEvents.Create(Alice, T0 + 1, 30_023, [["d", "other"]], "x");
        var noD = TestEvents.Create(Alice, T0 + 2, 30_023, [], "no d");
        var bobsPost = TestEvents.Create(Bob, T0 + 3, 30_023, [["d", "post"]], "bob");
        await AppendAllAsync(store, post, other, noD, bobsPost);

        Assert.Equal(NewestFirst(post, other, noD, bobsPost), await IdsAsync(store, new Filter { Kinds = [30_023] }));
    }

    [Fact]
    public async Task an_addressable_event_replaces_the_one_with_the_same_d_tag()
    {
        await using var store = await CreateEmptyStoreAsync();
        var v1 = TestEvents.Create(Alice, T0, 30_023, [["d", "post"], ["t", "draft"]], "v1");
        var other = TestEvents.Create(Alice, T0 + 1, 30_023, [["d", "other"]], "x");
        var v2 = TestEvents.Create(Alice, T0 + 5, 30_023, [["d", "post"], ["t", "final"]], "v2");
        var stale = TestEvents.Create(Alice, T0 + 2, 30_023, [["d", "post"]], "stale");
        await AppendAllAsync(store, v1, other, v2);

        Assert.Equal(SaveResult.Superseded, await Seed.AppendAsync(store, stale));
        Assert.Equal(NewestFirst(v2, other), await IdsAsync(store, new Filter { Authors = [Alice] }));
        Assert.Equal([v2.Id], await IdsAsync(store, new Filter { Tags = [new TagFilter('d', ["post"])] }));
        Assert.Empty(await IdsAsync(store, new Filter { Tags = [new TagFilter('t', ["draft"])] }));
        Assert.Equal(3, await store.ReadStreamHeadAsync(Alice));
    }

    [Fact]
    public async Task replace_of_a_regular_event_is_refused()
    {
        await using var store = await CreateEmptyStoreAsync();
        await Assert.ThrowsAsync<ArgumentException>(() => store.ReplaceAsync(TestEvents.Create(Alice, T0), Alice, 0));
    }

    [Fact]
    public async Task concurrent_replaces_leave_exactly_the_newest_version()
    {
        await using var store = await CreateEmptyStoreAsync();
        // Writers race on one stream and one address, retrying on conflicts as an author grain would.
        var candidates = Enumerable.Range(0, 40).Select(i => TestEvents.Create(Alice, T0 + i % 13, EventKind.FollowList, [["p", TestEvents.Pubkey($"f{i}")]])).ToArray();
        await Task.WhenAll(candidates.Select(evt => Task.Run(async () =>
        {
            while ((await Seed.AppendAsync(store, evt)).Outcome == SaveOutcome.VersionConflict) { }
        })));

        var newest = NewestFirst(candidates)[0];
        Assert.Equal([newest], await IdsAsync(store, new Filter { Kinds = [EventKind.FollowList] }));
        var readAll = await store.ReadAllAsync(0, 1_000).ToListAsync();
        Assert.Equal([newest], readAll.Select(s => s.Event.Id));
        var head = await store.ReadStreamHeadAsync(Alice);
        Assert.Equal(head, readAll[0].Version);
        Assert.InRange(head, 1, 40);
    }

    // ---- delete, count, read all ----

    [Fact]
    public async Task delete_removes_the_event_and_its_tags()
    {
        await using var store = await CreateEmptyStoreAsync();
        var note = TestEvents.Create(Alice, T0, tags: [["p", Bob], ["t", "gone"]]);
        var kept = TestEvents.Create(Alice, T0 + 1, tags: [["p", Bob]]);
        await AppendAllAsync(store, note, kept);

        Assert.True(await store.DeleteAsync(note.Id));
        Assert.False(await store.DeleteAsync(note.Id));
        Assert.Equal([kept.Id], await IdsAsync(store, Filter.Everything));
        Assert.Equal([kept.Id], await IdsAsync(store, new Filter { Tags = [new TagFilter('p', [Bob])] }));
        Assert.Empty(await IdsAsync(store, new Filter { Tags = [new TagFilter('t', ["gone"])] }));
    }

    [Fact]
    public async Task delete_of_an_unknown_id_returns_false()
    {
        await using var store = await CreateEmptyStoreAsync();
        Assert.False(await store.DeleteAsync(new string('a', 64)));
    }

    [Fact]
    public async Task count_ignores_the_limit()
    {
        await using var store = await CreateEmptyStoreAsync();
        await AppendAllAsync(store, Enumerable.Range(0, 8).Select(i => TestEvents.Create(i % 2 == 0 ? Alice : Bob, T0 + i)).ToArray());

        Assert.Equal(8, await store.CountAsync(Filter.Everything));
        Assert.Equal(8, await store.CountAsync(new Filter { Limit = 2 }));
        Assert.Equal(4, await store.CountAsync(new Filter { Authors = [Alice], Limit = 1 }));
        Assert.Equal(3, await store.CountAsync(new Filter { Since = T0 + 5 }));
    }

    [Fact]
    public async Task read_all_returns_events_in_position_order_after_the_given_position()
    {
        await using var store = await CreateEmptyStoreAsync();
        var saved = new List<(NostrEvent Event, SaveResult Result)>();
        foreach (var (pubkey, i) in new[] { Alice, Bob, Alice, Carol, Bob }.Select((p, i) => (p, i)))
        {
            var evt = TestEvents.Create(pubkey, T0 + 100 - i);   // created_at falls as positions rise
            saved.Add((evt, await Seed.AppendAsync(store, evt)));
        }

        var all = await store.ReadAllAsync(0, 100).ToListAsync();
        Assert.Equal(saved.Select(s => s.Event.Id), all.Select(s => s.Event.Id));
        Assert.Equal(saved.Select(s => s.Result.Position), all.Select(s => s.Position));
        Assert.Equal(saved.Select(s => s.Result.Version), all.Select(s => s.Version));
        Assert.Equal(saved.Select(s => s.Event.Pubkey), all.Select(s => s.Stream));
        Assert.Equal(saved[0].Event.Json, all[0].Event.Json);

        var after = await store.ReadAllAsync(saved[1].Result.Position, 2).ToListAsync();
        Assert.Equal(saved.Skip(2).Take(2).Select(s => s.Event.Id), after.Select(s => s.Event.Id));
        Assert.Empty(await store.ReadAllAsync(saved[^1].Result.Position, 10).ToListAsync());
        Assert.Empty(await store.ReadAllAsync(0, 0).ToListAsync());
    }

    [Fact]
    public async Task read_all_skips_deleted_events_and_pages_past_them()
    {
        await using var store = await CreateEmptyStoreAsync();
        var events = Enumerable.Range(0, 1_200).Select(i => TestEvents.Create(TestEvents.Pubkey($"r{i % 16}"), T0 + i)).ToArray();
        await Seed.AppendAllAsync(store, events);
        var all = await store.ReadAllAsync(0, int.MaxValue).ToListAsync();
        Assert.Equal(1_200, all.Count);
        Assert.True(all.Zip(all.Skip(1)).All(p => p.First.Position < p.Second.Position));

        var deleted = all.Where((_, i) => i % 3 == 1).Select(s => s.Event.Id).ToHashSet();
        foreach (var id in deleted) Assert.True(await store.DeleteAsync(id));

        var remaining = await store.ReadAllAsync(0, int.MaxValue).ToListAsync();
        Assert.Equal(all.Where(s => !deleted.Contains(s.Event.Id)).Select(s => s.Position), remaining.Select(s => s.Position));
        var window = await store.ReadAllAsync(all[10].Position, 600).ToListAsync();
        Assert.Equal(remaining.Where(s => s.Position > all[10].Position).Take(600).Select(s => s.Position), window.Select(s => s.Position));
    }

    [Fact]
    public async Task a_consumer_resuming_from_its_bookmark_gets_exactly_what_came_after_it()
    {
        await using var store = await CreateEmptyStoreAsync();
        var first = Enumerable.Range(0, 10).Select(i => TestEvents.Create(TestEvents.Pubkey($"b{i % 3}"), T0 + i)).ToArray();
        await Seed.AppendAllAsync(store, first);
        var seen = await store.ReadAllAsync(0, 6).ToListAsync();
        var bookmark = seen[^1].Position;   // a consumer handled six events and saved this

        var later = Enumerable.Range(0, 5).Select(i => TestEvents.Create(TestEvents.Pubkey($"b{i % 3}"), T0 + 100 + i)).ToArray();
        await Seed.AppendAllAsync(store, later);
        var resumed = await store.ReadAllAsync(bookmark, int.MaxValue).ToListAsync();

        var everything = await store.ReadAllAsync(0, int.MaxValue).ToListAsync();
        Assert.Equal(15, everything.Count);
        Assert.Equal(everything.Skip(6).Select(s => s.Event.Id), resumed.Select(s => s.Event.Id));
        Assert.Equal(later.Select(e => e.Id).Order(), resumed.Where(s => s.Position > everything[9].Position).Select(s => s.Event.Id).Order());
    }

    // ---- read one stream ----

    private static (string Id, string Stream, long Version, long Position) Placed(StoredEvent stored) =>
        (stored.Event.Id, stored.Stream, stored.Version, stored.Position);

    /// <summary>
    /// ReadStreamAsync against the log filtered to the stream, for afterVersion around and past every version
    /// and for several max: the same events, versions and positions, in version order, with the same bytes.
    /// </summary>
    private static async Task AssertStreamReadsAgreeWithTheLogAsync(IEventStore store, string stream)
    {
        var log = (await store.ReadAllAsync(0, int.MaxValue).ToListAsync()).Where(s => s.Stream == stream).OrderBy(s => s.Version).ToList();
        var head = await store.ReadStreamHeadAsync(stream);
        long[] afterVersions = [long.MinValue, -1, 0, 1, 2, head / 2, head - 1, head, head + 1, long.MaxValue];
        foreach (var after in afterVersions)
            foreach (var max in new[] { 0, 1, 2, 3, 1_000, int.MaxValue })
            {
                var expected = log.Where(s => s.Version > after).Take(max).ToList();
                var read = await store.ReadStreamAsync(stream, after, max).ToListAsync();
                Assert.True(expected.Select(Placed).SequenceEqual(read.Select(Placed)),
                    $"stream read after version {after}, max {max}: expected [{string.Join(", ", expected.Select(s => s.Version))}], got [{string.Join(", ", read.Select(s => s.Version))}]");
                for (var i = 0; i < read.Count; i++) Assert.Equal(expected[i].Event.Json, read[i].Event.Json);
            }
    }

    [Fact]
    public async Task read_stream_returns_the_versions_after_the_given_one_contiguous_and_ascending()
    {
        await using var store = await CreateEmptyStoreAsync();
        var saved = new List<(NostrEvent Event, SaveResult Result)>();
        for (var i = 0; i < 14; i++)
        {
            var evt = TestEvents.Create(i % 2 == 0 ? Alice : Bob, T0 + 100 - i, i % 3 == 0 ? 7 : EventKind.TextNote);   // created_at falls as versions rise
            saved.Add((evt, await Seed.AppendAsync(store, evt)));
        }
        var alices = saved.Where(s => s.Event.Pubkey == Alice).ToList();

        var all = await store.ReadStreamAsync(Alice, 0, 100).ToListAsync();
        Assert.Equal([1L, 2, 3, 4, 5, 6, 7], all.Select(s => s.Version));
        Assert.Equal(alices.Select(s => s.Event.Id), all.Select(s => s.Event.Id));
        Assert.Equal(alices.Select(s => s.Result.Position), all.Select(s => s.Position));
        Assert.All(all, s => Assert.Equal(Alice, s.Stream));
        Assert.Equal(alices[0].Event.Json, all[0].Event.Json);

        var after = await store.ReadStreamAsync(Alice, 4, 100).ToListAsync();
        Assert.Equal([5L, 6, 7], after.Select(s => s.Version));
        Assert.Equal(alices.Skip(4).Select(s => s.Event.Id), after.Select(s => s.Event.Id));
        Assert.Empty(await store.ReadStreamAsync(Alice, 7, 100).ToListAsync());
    }

    [Fact]
    public async Task read_stream_returns_at_most_max_events_the_lowest_versions_first()
    {
        await using var store = await CreateEmptyStoreAsync();
        await AppendAllAsync(store, Enumerable.Range(0, 9).Select(i => TestEvents.Create(Alice, T0 + i)).ToArray());

        Assert.Equal([1L, 2, 3], (await store.ReadStreamAsync(Alice, 0, 3).ToListAsync()).Select(s => s.Version));
        Assert.Equal([6L, 7], (await store.ReadStreamAsync(Alice, 5, 2).ToListAsync()).Select(s => s.Version));
        Assert.Equal([9L], (await store.ReadStreamAsync(Alice, 8, 5).ToListAsync()).Select(s => s.Version));
        Assert.Empty(await store.ReadStreamAsync(Alice, 0, 0).ToListAsync());
    }

    [Fact]
    public async Task read_stream_never_returns_another_streams_events()
    {
        await using var store = await CreateEmptyStoreAsync();
        // One stream's name is a prefix of another's: a store that scans keys by prefix must still keep them apart.
        var bobStream = Bob + "x";
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(SaveOutcome.Saved, (await store.SaveAsync(TestEvents.Create(Alice, T0 + i), Alice, i)).Outcome);
            Assert.Equal(SaveOutcome.Saved, (await store.SaveAsync(TestEvents.Create(Bob, T0 + i), bobStream, i)).Outcome);
            Assert.Equal(SaveOutcome.Saved, (await store.SaveAsync(TestEvents.Create(Carol, T0 + i), Bob, i)).Outcome);
        }

        var alices = await store.ReadStreamAsync(Alice, 0, 100).ToListAsync();
        var bobs = await store.ReadStreamAsync(bobStream, 0, 100).ToListAsync();
        var carols = await store.ReadStreamAsync(Bob, 0, 100).ToListAsync();
        Assert.Equal(5, alices.Count);
        Assert.All(alices, s => Assert.Equal((Alice, Alice), (s.Stream, s.Event.Pubkey)));
        Assert.Equal(5, bobs.Count);
        Assert.All(bobs, s => Assert.Equal((bobStream, Bob), (s.Stream, s.Event.Pubkey)));
        Assert.Equal(5, carols.Count);
        Assert.All(carols, s => Assert.Equal((Bob, Carol), (s.Stream, s.Event.Pubkey)));
    }

    [Fact]
    public async Task read_stream_of_an_unknown_stream_gives_nothing()
    {
        await using var store = await CreateEmptyStoreAsync();
        Assert.Empty(await store.ReadStreamAsync(Alice, 0, 100).ToListAsync());
        await AppendAllAsync(store, TestEvents.Create(Alice, T0), TestEvents.Create(Bob, T0 + 1));

        Assert.Empty(await store.ReadStreamAsync(Carol, 0, 100).ToListAsync());
        Assert.Empty(await store.ReadStreamAsync(Alice[..63], 0, 100).ToListAsync());
        Assert.Empty(await store.ReadStreamAsync("", -1, 100).ToListAsync());
    }

    [Fact]
    public async Task read_stream_agrees_with_read_all_after_supersedes_and_deletes()
    {
        await using var store = await CreateEmptyStoreAsync();
        var profile = TestEvents.Create(Alice, T0, EventKind.Metadata, content: """{"name":"alice"}""");
        var note = TestEvents.Create(Alice, T0 + 1);
        var post = TestEvents.Create(Alice, T0 + 2, 30_023, [["d", "post"]], "v1");
        var follows = TestEvents.Create(Alice, T0 + 3, EventKind.FollowList, [["p", Bob]]);
        var reaction = TestEvents.Create(Alice, T0 + 4, 7, [["e", note.Id]], "+");
        var bobs = TestEvents.Create(Bob, T0 + 5, EventKind.Metadata, content: """{"name":"bob"}""");
        var renamed = TestEvents.Create(Alice, T0 + 60, EventKind.Metadata, content: """{"name":"alice2"}""");
        var postV2 = TestEvents.Create(Alice, T0 + 61, 30_023, [["d", "post"]], "v2");
        var staleFollows = TestEvents.Create(Alice, T0 + 2, EventKind.FollowList, [["p", Carol]]);
        var later = TestEvents.Create(Alice, T0 + 70);
        foreach (var evt in new[] { profile, note, post, follows, reaction, bobs })
            Assert.Equal(SaveOutcome.Saved, (await Seed.AppendAsync(store, evt)).Outcome);
        await AssertStreamReadsAgreeWithTheLogAsync(store, Alice);

        Assert.Equal(SaveOutcome.Saved, (await Seed.AppendAsync(store, renamed)).Outcome);   // supersedes version 1
        Assert.Equal(SaveOutcome.Saved, (await Seed.AppendAsync(store, postV2)).Outcome);    // supersedes version 3
        Assert.Equal(SaveResult.Superseded, await Seed.AppendAsync(store, staleFollows));
        Assert.True(await store.DeleteAsync(reaction.Id));                                   // version 5
        Assert.Equal(SaveOutcome.Saved, (await Seed.AppendAsync(store, later)).Outcome);
        Assert.Equal(SaveOutcome.Saved, (await Seed.AppendAsync(store, reaction)).Outcome);   // saved again: version 9, not 5

        var read = await store.ReadStreamAsync(Alice, 0, 100).ToListAsync();
        Assert.Equal([2L, 4, 6, 7, 8, 9], read.Select(s => s.Version));
        Assert.Equal([note.Id, follows.Id, renamed.Id, postV2.Id, later.Id, reaction.Id], read.Select(s => s.Event.Id));
        await AssertStreamReadsAgreeWithTheLogAsync(store, Alice);
        await AssertStreamReadsAgreeWithTheLogAsync(store, Bob);
    }

    [Fact]
    public async Task read_stream_pages_through_a_long_stream_with_gaps_like_read_all()
    {
        await using var store = await CreateEmptyStoreAsync();
        // More events than a reader page (500) in one stream, and deletes, so pages end and resume inside gaps.
        var events = Enumerable.Range(0, 1_100).Select(i => TestEvents.Create(i % 10 == 9 ? Bob : Alice, T0 + i)).ToArray();
        await AppendAllAsync(store, events);
        var alices = await store.ReadStreamAsync(Alice, 0, int.MaxValue).ToListAsync();
        Assert.Equal(Enumerable.Range(1, 990).Select(v => (long)v), alices.Select(s => s.Version));

        foreach (var stored in alices.Where(s => s.Version % 7 == 3 || s.Version is >= 495 and <= 510)) Assert.True(await store.DeleteAsync(stored.Event.Id));
        await AssertStreamReadsAgreeWithTheLogAsync(store, Alice);
        var window = await store.ReadStreamAsync(Alice, 100, 600).ToListAsync();
        Assert.Equal(600, window.Count);
        Assert.Equal(alices.Where(s => s.Version > 100 && s.Version % 7 != 3 && s.Version is < 495 or > 510).Take(600).Select(Placed), window.Select(Placed));
    }

    // ---- concurrency ----

    [Fact]
    public async Task concurrent_saves_from_many_tasks_all_land()
    {
        await using var store = await CreateEmptyStoreAsync();
        const int streams = 200, perStream = 10;
        var results = await Task.WhenAll(Enumerable.Range(0, streams).Select(s => Task.Run(async () =>
        {
            var pubkey = TestEvents.Pubkey($"concurrent {s}");
            var saved = new List<SaveResult>();
            for (var v = 0; v < perStream; v++)
                saved.Add(await store.SaveAsync(TestEvents.Create(pubkey, T0 + v, tags: [["t", $"s{s % 7}"]]), pubkey, v));
            return saved;
        })));

        Assert.All(results.SelectMany(r => r), r => Assert.Equal(SaveOutcome.Saved, r.Outcome));
        Assert.All(results, r => Assert.Equal(Enumerable.Range(1, perStream).Select(v => (long)v), r.Select(x => x.Version)));
        Assert.Equal(streams * perStream, results.SelectMany(r => r).Select(r => r.Position).Distinct().Count());
        Assert.Equal(streams * perStream, await store.CountAsync(Filter.Everything));
        Assert.Equal(streams * perStream, (await store.ReadAllAsync(0, int.MaxValue).ToListAsync()).Count);
        Assert.Equal(perStream, await store.ReadStreamHeadAsync(TestEvents.Pubkey("concurrent 42")));
    }

    [Fact]
    public async Task concurrent_saves_at_one_version_let_exactly_one_win()
    {
        await using var store = await CreateEmptyStoreAsync();
        var contenders = Enumerable.Range(0, 32).Select(i => TestEvents.Create(Alice, T0, content: $"contender {i}")).ToArray();
        var sameEvent = TestEvents.Create(Bob, T0);

        var results = await Task.WhenAll(contenders.Select(e => Task.Run(() => store.SaveAsync(e, Alice, 0))));
        var sameResults = await Task.WhenAll(Enumerable.Range(0, 32).Select(_ => Task.Run(() => store.SaveAsync(sameEvent, Bob, 0))));

        Assert.Single(results, r => r.Outcome == SaveOutcome.Saved);
        Assert.Equal(31, results.Count(r => r.Outcome == SaveOutcome.VersionConflict));
        Assert.Single(sameResults, r => r.Outcome == SaveOutcome.Saved);
        Assert.Equal(31, sameResults.Count(r => r.Outcome == SaveOutcome.Duplicate));
        Assert.Equal(2, await store.CountAsync(Filter.Everything));
        Assert.Equal(1, await store.ReadStreamHeadAsync(Alice));
    }
}
