using NostrRelay.Protocol;

namespace NostrRelay.Storage.Tests;

/// <summary>
/// What the embedded key-value stores (RocksDb, Lmdb) do alike beyond the conformance suite: a directory reopened keeps
/// events, heads and positions; the one writer commits what is queued when the store closes, undoes a write that throws
/// alone, and hands out no position for it; readers see whole batches.
/// </summary>
public abstract class KeyValueStoreTests : EventStoreConformance
{
    /// <summary>A directory path of its own for one store.</summary>
    protected abstract string NewStorePath();

    /// <summary>A store on the directory, not yet initialised.</summary>
    protected abstract IEventStore Open(string path);

    [Fact]
    public async Task events_heads_addresses_and_positions_survive_reopening_the_directory()
    {
        var path = NewStorePath();
        var alice = TestEvents.Pubkey("alice");
        var first = TestEvents.Create(alice, 100, tags: [["t", "kept"]]);
        var last = TestEvents.Create(alice, 101);
        var profile = TestEvents.Create(alice, 100, EventKind.Metadata, content: "v1");
        SaveResult lastSaved;
        await using (var store = Open(path))
        {
            await store.InitAsync();
            await store.InitAsync();
            await store.SaveAsync(first, alice, 0);
            Assert.Equal(SaveOutcome.Saved, (await store.ReplaceAsync(profile, alice, 1)).Outcome);
            lastSaved = await store.SaveAsync(last, alice, 2);
            Assert.True(await store.DeleteAsync(last.Id));   // the highest position is gone; it must still not come back
        }

        await using (var reopened = Open(path))
        {
            await reopened.InitAsync();
            Assert.Equal([first.Id], await reopened.QueryAsync(new Filter { Tags = [new TagFilter('t', ["kept"])] }).Select(e => e.Id).ToListAsync());
            Assert.Equal(3, await reopened.ReadStreamHeadAsync(alice));
            Assert.Equal(SaveResult.Superseded, await reopened.ReplaceAsync(TestEvents.Create(alice, 99, EventKind.Metadata, content: "old"), alice, 3));
            var renamed = await reopened.ReplaceAsync(TestEvents.Create(alice, 102, EventKind.Metadata, content: "v2"), alice, 3);
            Assert.Equal(4, renamed.Version);
            Assert.True(renamed.Position > lastSaved.Position, "a position handed out before the restart must not be handed out again");
            Assert.Equal(2, await reopened.CountAsync(new Filter { Authors = [alice] }));
            Assert.Equal([first.Id], (await reopened.ReadAllAsync(0, 10).ToListAsync()).Take(1).Select(s => s.Event.Id));
        }
    }

    [Fact]
    public async Task dispose_commits_the_writes_already_queued()
    {
        var path = NewStorePath();
        var authors = Enumerable.Range(0, 300).Select(i => TestEvents.Pubkey($"queued {i}")).ToArray();
        var store = Open(path);
        await store.InitAsync();
        var saves = authors.Select(a => store.SaveAsync(TestEvents.Create(a, 100), a, 0)).ToArray();
        await store.DisposeAsync();

        Assert.All(await Task.WhenAll(saves), r => Assert.Equal(SaveOutcome.Saved, r.Outcome));
        await using var reopened = Open(path);
        await reopened.InitAsync();
        Assert.Equal(authors.Length, await reopened.CountAsync(Filter.Everything));
    }

    [Fact]
    public async Task a_write_cancelled_before_the_writer_takes_it_is_not_saved()
    {
        await using var store = await CreateEmptyStoreAsync();
        var note = TestEvents.Create(TestEvents.Pubkey("alice"), 100);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => store.SaveAsync(note, note.Pubkey, 0, new CancellationToken(canceled: true)));
        Assert.Equal(0, await store.CountAsync(Filter.Everything));
    }

    [Fact]
    public async Task a_write_that_throws_is_undone_alone_and_the_rest_of_its_batch_commits()
    {
        await using var store = await CreateEmptyStoreAsync();
        var authors = Enumerable.Range(0, 50).Select(i => TestEvents.Pubkey($"bystander {i}")).ToArray();
        // An uppercase id is no NIP-01 id: the writer refuses it after the batch has begun.
        var good = TestEvents.Create(TestEvents.Pubkey("alice"), 100);
        var bad = good with { Id = good.Id.ToUpperInvariant() };

        var before = authors[..25].Select(a => store.SaveAsync(TestEvents.Create(a, 100), a, 0)).ToArray();
        var refused = store.SaveAsync(bad, bad.Pubkey, 0);
        var after = authors[25..].Select(a => store.SaveAsync(TestEvents.Create(a, 100), a, 0)).ToArray();

        await Assert.ThrowsAsync<ArgumentException>(() => refused);
        Assert.All(await Task.WhenAll(before.Concat(after)), r => Assert.Equal(SaveOutcome.Saved, r.Outcome));
        Assert.Equal(50, await store.CountAsync(Filter.Everything));
        Assert.Equal(0, await store.ReadStreamHeadAsync(bad.Pubkey));
        var positions = (await store.ReadAllAsync(0, 100).ToListAsync()).Select(s => s.Position).ToList();
        Assert.Equal(Enumerable.Range(1, 50).Select(p => (long)p), positions);   // the undone write took no position
    }

    [Fact]
    public async Task read_all_from_a_negative_or_the_largest_position_reads_from_the_start_or_nothing()
    {
        await using var store = await CreateEmptyStoreAsync();
        var alice = TestEvents.Pubkey("alice");
        await store.SaveAsync(TestEvents.Create(alice, 100), alice, 0);

        Assert.Single(await store.ReadAllAsync(-5, 10).ToListAsync());
        Assert.Single(await store.ReadAllAsync(long.MinValue, 10).ToListAsync());
        Assert.Empty(await store.ReadAllAsync(long.MaxValue, 10).ToListAsync());
    }

    [Fact]
    public async Task queries_read_while_writes_commit_see_whole_batches()
    {
        await using var store = await CreateEmptyStoreAsync();
        var alice = TestEvents.Pubkey("alice");
        var lists = Enumerable.Range(0, 200).Select(i => TestEvents.Create(alice, 1_000 + i, EventKind.FollowList, [["p", TestEvents.Pubkey($"f{i}")]])).ToArray();
        using var done = new CancellationTokenSource();
        var reader = Task.Run(async () =>
        {
            var reads = 0;
            while (!done.IsCancellationRequested)
            {
                var found = await store.QueryAsync(new Filter { Kinds = [EventKind.FollowList] }).CountAsync();
                Assert.InRange(found, 0, 1);   // a supersede is seen whole: never two current versions
                reads++;
            }
            return reads;
        });
        for (var i = 0; i < lists.Length; i++) Assert.Equal(SaveOutcome.Saved, (await store.ReplaceAsync(lists[i], alice, i)).Outcome);
        done.Cancel();
        Assert.True(await reader > 0);
    }
}
