using NostrRelay.Protocol;
using NostrRelay.Storage;

namespace NostrRelay.Grains.Tests;

/// <summary>
/// An author grain's rounds against a store that answers a batch late and out of order, fails on one write, or cannot
/// read a stream's head: every event is answered once, in its place, and the queue goes on.
/// </summary>
[Collection(SlowStoreCollection.Name)]
public sealed class AuthorPipelineTests(SlowStoreClusterFixture fixture)
{
    private IAuthorStreamGrain Stream(Author author) => fixture.Client.GetGrain<IAuthorStreamGrain>(author.Pubkey);

    [Fact]
    public async Task answers_that_come_back_out_of_order_still_give_versions_in_order()
    {
        var author = new Author();
        var events = Enumerable.Range(0, 100).Select(i => author.Note($"note {i}")).ToArray();

        var results = await Stream(author).AppendManyAsync(events);

        Assert.Equal(Enumerable.Range(1, 100).Select(v => (long)v), results.Select(r => r.Version));
        var stored = await fixture.Store.ReadStreamAsync(author.Pubkey, 0, 1_000).ToListAsync();
        Assert.Equal(events.Select(e => e.Id), stored.Select(s => s.Event.Id));
    }

    [Fact]
    public async Task an_authors_next_events_go_to_the_store_while_the_ones_before_wait_for_their_commit()
    {
        var author = new Author();
        var before = fixture.Slow.Writes;
        Task<AppendResult> first, second;
        using (fixture.Slow.HoldAnswers())
        {
            first = Stream(author).AppendAsync(author.Note("first"));
            await WaitUntilAsync(() => fixture.Slow.Writes == before + 1);
            second = Stream(author).AppendAsync(author.Note("second"));
            await WaitUntilAsync(() => fixture.Slow.Writes == before + 2);
            Assert.False(first.IsCompleted, "the first event was answered before its commit");
        }

        Assert.Equal((AppendStatus.Accepted, 1L), ((await first).Status, (await first).Version));
        Assert.Equal((AppendStatus.Accepted, 2L), ((await second).Status, (await second).Version));
    }

    [Fact]
    public async Task a_duplicate_in_one_round_moves_the_events_of_the_rounds_sent_behind_it_without_a_gap()
    {
        var author = new Author();
        var known = author.Note("known");
        Assert.Equal(1L, (await Stream(author).AppendAsync(known)).Version);
        var before = fixture.Slow.Writes;
        Task<AppendResult[]> first, second;
        using (fixture.Slow.HoldAnswers())
        {
            first = Stream(author).AppendManyAsync([known, author.Note("a")]);
            await WaitUntilAsync(() => fixture.Slow.Writes == before + 2);
            second = Stream(author).AppendManyAsync([author.Note("b")]);
            await WaitUntilAsync(() => fixture.Slow.Writes == before + 3);   // sent expecting the version "a" would leave
        }

        var (one, two) = (await first, await second);
        Assert.Equal(AppendStatus.Duplicate, one[0].Status);
        Assert.Equal((AppendStatus.Accepted, 2L), (one[1].Status, one[1].Version));
        Assert.Equal((AppendStatus.Accepted, 3L), (two[0].Status, two[0].Version));
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "the store was not handed the write in 10 s");
            await Task.Delay(10);
        }
    }

    [Fact]
    public async Task a_write_that_fails_is_refused_alone_and_the_ones_after_it_are_stored()
    {
        var author = new Author();

        var results = await Stream(author).AppendManyAsync(
            [author.Note("one"), author.Note("two"), author.Note(SlowAnswersStore.Failing), author.Note("three"), author.Note("four")]);

        Assert.Equal([AppendStatus.Accepted, AppendStatus.Accepted, AppendStatus.Rejected, AppendStatus.Accepted, AppendStatus.Accepted],
            results.Select(r => r.Status));
        Assert.StartsWith("error:", results[2].Message);
        Assert.Equal([1L, 2, 0, 3, 4], results.Select(r => r.Version));
    }

    [Fact]
    public async Task old_versions_of_a_replaceable_event_cost_a_write_each_not_a_round_of_all_the_rest()
    {
        var author = new Author();
        var newest = author.Note("{\"name\":\"now\"}", createdAt: 5_000, kind: EventKind.Metadata);
        var old = Enumerable.Range(0, 40).Select(i => author.Note($"{{\"name\":\"{i}\"}}", createdAt: 1_000 + i, kind: EventKind.Metadata)).ToArray();
        var before = fixture.Slow.Writes;

        var results = await Stream(author).AppendManyAsync([newest, .. old, author.Note("a note after them")]);

        Assert.Equal(AppendStatus.Accepted, results[0].Status);
        Assert.All(results.Skip(1).Take(40), r => Assert.StartsWith("replaced:", r.Message));
        Assert.Equal((AppendStatus.Accepted, 2L), (results[^1].Status, results[^1].Version));
        var writes = fixture.Slow.Writes - before;
        Assert.True(writes <= 3 * results.Length, $"{writes} store writes for {results.Length} events");
    }

    [Fact]
    public async Task a_head_that_cannot_be_read_after_a_conflict_refuses_what_waited_on_it_and_the_stream_goes_on()
    {
        var author = new Author();
        await Stream(author).AppendAsync(author.Note("through the grain"));
        Assert.Equal(SaveOutcome.Saved, (await fixture.Store.SaveAsync(author.Note("another activation's"), author.Pubkey, 1)).Outcome);

        fixture.Slow.FailHeadReads = true;
        AppendResult[] results;
        try
        {
            results = await Stream(author).AppendManyAsync([author.Note("a"), author.Note("b")]).WaitAsync(TimeSpan.FromSeconds(20));
        }
        finally
        {
            fixture.Slow.FailHeadReads = false;
        }

        // "a" expected the stale head and conflicted; "b", expecting the next version, found the foreign write's.
        Assert.Equal(AppendStatus.Rejected, results[0].Status);
        Assert.StartsWith("error:", results[0].Message);
        Assert.Equal((AppendStatus.Accepted, 3L), (results[1].Status, results[1].Version));
        var after = await Stream(author).AppendAsync(author.Note("c"));
        Assert.Equal((AppendStatus.Accepted, 4L), (after.Status, after.Version));
    }
}
