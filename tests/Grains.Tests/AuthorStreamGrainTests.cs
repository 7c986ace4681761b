using NostrRelay.Protocol;
using NostrRelay.Storage;

namespace NostrRelay.Grains.Tests;

/// <summary>The author stream grain is the single writer of one author's stream: versions, duplicates, supersession.</summary>
[Collection(ClusterCollection.Name)]
public sealed class AuthorStreamGrainTests(ClusterFixture fixture)
{
    private IAuthorStreamGrain Stream(Author author) => fixture.Client.GetGrain<IAuthorStreamGrain>(author.Pubkey);

    [Fact]
    public async Task appends_get_contiguous_versions_and_increasing_positions()
    {
        var author = new Author();

        var first = await Stream(author).AppendAsync(author.Note("one"));
        var second = await Stream(author).AppendAsync(author.Note("two"));

        Assert.Equal(AppendStatus.Accepted, first.Status);
        Assert.Equal((1L, 2L), (first.Version, second.Version));
        Assert.True(second.Position > first.Position);
        Assert.Equal(2, await fixture.Store.ReadStreamHeadAsync(author.Pubkey));
    }

    [Fact]
    public async Task the_same_event_twice_is_a_duplicate_and_takes_no_version()
    {
        var author = new Author();
        var evt = author.Note("once");

        await Stream(author).AppendAsync(evt);
        var again = await Stream(author).AppendAsync(evt);

        Assert.Equal(AppendStatus.Duplicate, again.Status);
        Assert.True(again.Ok);
        Assert.StartsWith("duplicate:", again.Message);
        Assert.Equal(1, await fixture.Store.ReadStreamHeadAsync(author.Pubkey));
    }

    [Fact]
    public async Task an_older_replaceable_event_is_refused_and_the_newer_one_kept()
    {
        var author = new Author();
        var newer = author.Note("{\"name\":\"new\"}", createdAt: 2_000, kind: EventKind.Metadata);
        var older = author.Note("{\"name\":\"old\"}", createdAt: 1_000, kind: EventKind.Metadata);

        await Stream(author).AppendAsync(newer);
        var result = await Stream(author).AppendAsync(older);

        Assert.Equal(AppendStatus.Rejected, result.Status);
        Assert.StartsWith("replaced:", result.Message);
        var kept = await fixture.Store.QueryAsync(new Filter { Authors = [author.Pubkey], Kinds = [0] }).ToListAsync();
        Assert.Equal(newer.Id, Assert.Single(kept).Id);
    }

    [Fact]
    public async Task an_event_of_another_author_is_refused()
    {
        var author = new Author();
        var other = new Author();

        var result = await Stream(author).AppendAsync(other.Note("not mine"));

        Assert.Equal(AppendStatus.Rejected, result.Status);
        Assert.StartsWith("invalid:", result.Message);
    }

    [Fact]
    public async Task an_ephemeral_event_is_accepted_without_being_stored()
    {
        var author = new Author();

        var result = await Stream(author).AppendAsync(author.Note("now only", kind: 20_000));

        Assert.Equal(AppendStatus.Accepted, result.Status);
        Assert.Equal(0, await fixture.Store.CountAsync(new Filter { Authors = [author.Pubkey] }));
    }

    [Fact]
    public async Task a_reactivated_stream_continues_from_the_stored_head()
    {
        var author = new Author();
        await Stream(author).AppendAsync(author.Note("before"));
        await Stream(author).AppendAsync(author.Note("before 2"));

        await fixture.Client.GetGrain<IManagementGrain>(0).ForceActivationCollection(TimeSpan.Zero);
        var after = await Stream(author).AppendAsync(author.Note("after"));

        Assert.Equal(3, after.Version);
    }

    [Fact]
    public async Task events_sent_together_get_versions_in_their_order()
    {
        var author = new Author();
        var events = Enumerable.Range(0, 300).Select(i => author.Note($"note {i}")).ToArray();

        var results = await Stream(author).AppendManyAsync(events);

        Assert.All(results, r => Assert.Equal(AppendStatus.Accepted, r.Status));
        Assert.Equal(Enumerable.Range(1, 300).Select(v => (long)v), results.Select(r => r.Version));
        Assert.True(results.Zip(results.Skip(1)).All(pair => pair.Second.Position > pair.First.Position));
        var stored = await fixture.Store.ReadStreamAsync(author.Pubkey, 0, 1_000).ToListAsync();
        Assert.Equal(events.Select(e => e.Id), stored.Select(s => s.Event.Id));
    }

    [Fact]
    public async Task a_duplicate_among_new_events_takes_no_version_and_the_rest_follow_on()
    {
        var author = new Author();
        var known = author.Note("known");
        await Stream(author).AppendAsync(known);
        var first = author.Note("new 1");
        var second = author.Note("new 2");

        var results = await Stream(author).AppendManyAsync([first, known, second, first, author.Note("new 3")]);

        Assert.Equal([AppendStatus.Accepted, AppendStatus.Duplicate, AppendStatus.Accepted, AppendStatus.Duplicate, AppendStatus.Accepted],
            results.Select(r => r.Status));
        Assert.Equal([2L, 0, 3, 0, 4], results.Select(r => r.Version));
        Assert.Equal(4, await fixture.Store.ReadStreamHeadAsync(author.Pubkey));
    }

    [Fact]
    public async Task a_history_sent_again_is_all_duplicates()
    {
        var author = new Author();
        var history = Enumerable.Range(0, 100).Select(i => author.Note($"old {i}")).ToArray();
        await Stream(author).AppendManyAsync(history);

        var again = await Stream(author).AppendManyAsync([.. history, author.Note("and one new")]);

        Assert.All(again.Take(100), r => Assert.Equal(AppendStatus.Duplicate, r.Status));
        Assert.Equal((AppendStatus.Accepted, 101L), (again[100].Status, again[100].Version));
    }

    [Fact]
    public async Task replaceable_versions_sent_together_keep_only_the_newest()
    {
        var author = new Author();
        var middle = author.Note("{\"name\":\"b\"}", createdAt: 2_000, kind: EventKind.Metadata);
        var oldest = author.Note("{\"name\":\"a\"}", createdAt: 1_000, kind: EventKind.Metadata);
        var note = author.Note("a note between");
        var newest = author.Note("{\"name\":\"c\"}", createdAt: 3_000, kind: EventKind.Metadata);

        var results = await Stream(author).AppendManyAsync([middle, oldest, note, newest]);

        Assert.Equal([AppendStatus.Accepted, AppendStatus.Rejected, AppendStatus.Accepted, AppendStatus.Accepted], results.Select(r => r.Status));
        Assert.StartsWith("replaced:", results[1].Message);
        Assert.Equal([1L, 0, 2, 3], results.Select(r => r.Version));
        var kept = await fixture.Store.QueryAsync(new Filter { Authors = [author.Pubkey], Kinds = [0] }).ToListAsync();
        Assert.Equal(newest.Id, Assert.Single(kept).Id);
    }

    [Fact]
    public async Task a_deletion_request_in_a_batch_blocks_the_event_it_names_later_in_the_batch()
    {
        var author = new Author();
        var doomed = author.Note("to be deleted");
        var request = author.Note("", kind: 5, tags: [["e", doomed.Id]]);

        var results = await Stream(author).AppendManyAsync([doomed, request, doomed, author.Note("after")]);

        Assert.Equal([AppendStatus.Accepted, AppendStatus.Accepted, AppendStatus.Rejected, AppendStatus.Accepted], results.Select(r => r.Status));
        Assert.StartsWith("blocked:", results[2].Message);
        Assert.Equal([1L, 2, 0, 3], results.Select(r => r.Version));
        Assert.Empty(await fixture.Store.QueryAsync(new Filter { Ids = [doomed.Id] }).ToListAsync());
    }

    [Fact]
    public async Task concurrent_callers_share_one_gap_free_sequence()
    {
        var author = new Author();
        var batches = Enumerable.Range(0, 8).Select(b => Enumerable.Range(0, 40).Select(i => author.Note($"caller {b} note {i}")).ToArray()).ToArray();
        var singles = Enumerable.Range(0, 20).Select(i => author.Note($"single {i}")).ToArray();

        var calls = batches.Select(batch => Stream(author).AppendManyAsync(batch)).ToList();
        var singleCalls = singles.Select(evt => Stream(author).AppendAsync(evt)).ToList();
        var results = (await Task.WhenAll(calls)).SelectMany(r => r).Concat(await Task.WhenAll(singleCalls)).ToList();

        Assert.All(results, r => Assert.Equal(AppendStatus.Accepted, r.Status));
        Assert.Equal(Enumerable.Range(1, 340).Select(v => (long)v), results.Select(r => r.Version).Order());
        foreach (var (batch, answers) in batches.Zip(await Task.WhenAll(calls)))
            Assert.True(answers.Zip(answers.Skip(1)).All(pair => pair.Second.Version > pair.First.Version), "a call's events keep their order");
        Assert.Equal(340, await fixture.Store.ReadStreamHeadAsync(author.Pubkey));
    }

    [Fact]
    public async Task a_write_behind_the_grains_back_moves_the_whole_batch_after_it()
    {
        var author = new Author();
        await Stream(author).AppendAsync(author.Note("through the grain"));
        var foreign = author.Note("written by another activation");
        Assert.Equal(SaveOutcome.Saved, (await fixture.Store.SaveAsync(foreign, author.Pubkey, 1)).Outcome);

        var results = await Stream(author).AppendManyAsync([author.Note("a"), author.Note("b"), author.Note("c")]);

        // Each after the foreign write, none lost or doubled; their order among themselves is not kept when another
        // writer moves the stream in the middle of a round (only around a failover).
        Assert.All(results, r => Assert.Equal(AppendStatus.Accepted, r.Status));
        Assert.Equal([3L, 4, 5], results.Select(r => r.Version).Order());
        Assert.Equal(5, await fixture.Store.ReadStreamHeadAsync(author.Pubkey));
    }

    [Fact]
    public async Task ephemeral_and_foreign_events_in_a_batch_are_answered_in_place()
    {
        var author = new Author();
        var other = new Author();

        var results = await Stream(author).AppendManyAsync([author.Note("stored"), author.Note("now only", kind: 20_000), other.Note("not mine"), author.Note("stored too")]);

        Assert.Equal([AppendStatus.Accepted, AppendStatus.Accepted, AppendStatus.Rejected, AppendStatus.Accepted], results.Select(r => r.Status));
        Assert.StartsWith("invalid:", results[2].Message);
        Assert.Equal([1L, 0, 0, 2], results.Select(r => r.Version));
    }
}
