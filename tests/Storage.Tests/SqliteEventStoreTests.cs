using Microsoft.Data.Sqlite;
using NostrRelay.Protocol;
using NostrRelay.Storage.Sqlite;

namespace NostrRelay.Storage.Tests;

public sealed class SqliteEventStoreTests : EventStoreConformance, IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "nostr-relay-store-tests", Guid.NewGuid().ToString("N"));

    private string NewPath() => Path.Combine(_directory, Guid.NewGuid().ToString("N"), "relay.db");

    /// <summary>Below this many tag index rows a tag filter is read in one query; 0 reads every one in time windows.</summary>
    private int _wholeSortTagRows = new SqliteEventStoreOptions().WholeSortTagRows;

    protected override async Task<IEventStore> CreateEmptyStoreAsync()
    {
        var store = new SqliteEventStore(new SqliteEventStoreOptions { Path = NewPath(), WholeSortTagRows = _wholeSortTagRows });
        await store.InitAsync();
        return store;
    }

    /// <summary>The fuzz's tag filters name a few hundred rows at most: read this way, they take the time windows too.</summary>
    [Theory]
    [InlineData(20_240_601)]
    [InlineData(7)]
    public async Task random_filters_read_in_time_windows_agree_with_a_brute_force_reference(int seed)
    {
        _wholeSortTagRows = 0;
        await random_filters_agree_with_a_brute_force_reference(seed);
    }

    /// <summary>
    /// A tag's newest matches few and far apart, older ones dense (a thread that went quiet, mentions from last month): the
    /// first window starts where the tag's rows hold a page, and widens from there when other conditions leave it short.
    /// </summary>
    [Fact]
    public async Task a_tag_read_in_time_windows_finds_its_page_behind_sparse_recent_matches()
    {
        _wholeSortTagRows = 0;
        await using var store = await CreateEmptyStoreAsync();
        var mentioned = Enumerable.Range(0, 6).Select(i => TestEvents.Pubkey($"mentioned {i}")).ToArray();
        var events = new List<NostrEvent>();
        const long Start = 1_700_000_000;
        for (var i = 0; i < 300; i++)   // dense: a mention a minute, two of three kind 1, the rest reactions
            events.Add(TestEvents.Create(TestEvents.Pubkey($"writer {i % 17}"), Start + i * 60, i % 3 == 2 ? 7 : 1, [["p", mentioned[i % 6]]], $"dense {i}"));
        for (var i = 0; i < 12; i++)   // sparse: one every ten days after that
            events.Add(TestEvents.Create(TestEvents.Pubkey($"writer {i}"), Start + 300 * 60 + (i + 1) * 864_000, 1, [["p", mentioned[i % 6]]], $"sparse {i}"));
        events.Add(TestEvents.Create(TestEvents.Pubkey("someone"), Start + 200 * 864_000, content: "the newest event, unrelated"));
        await Seed.AppendAllAsync(store, events);

        Filter[] filters =
        [
            new() { Tags = [new TagFilter('p', mentioned)], Limit = 40 },
            new() { Tags = [new TagFilter('p', mentioned[..3])], Limit = 7 },
            new() { Tags = [new TagFilter('p', mentioned)], Kinds = [7], Limit = 25 },
            new() { Tags = [new TagFilter('p', mentioned[..2])], Kinds = [1], Limit = 9 },   // the kind checked on the tag rows
            new() { Tags = [new TagFilter('p', mentioned)], Authors = [TestEvents.Pubkey("writer 3")], Limit = 5 },
            new() { Tags = [new TagFilter('p', mentioned)], Until = Start + 250 * 60, Limit = 30 },
            new() { Tags = [new TagFilter('p', mentioned)], Since = Start + 290 * 60, Limit = 30 },
        ];
        foreach (var filter in filters)
        {
            var expected = events.Where(filter.Matches).Order(Comparer<NostrEvent>.Create(NostrEvent.CompareNewestFirst))
                .Take(filter.Limit!.Value).Select(e => e.Id).ToList();
            Assert.NotEmpty(expected);
            Assert.Equal(expected, (await store.QueryAsync(filter).ToListAsync()).Select(e => e.Id).ToList());
            Assert.Equal(events.Count(filter.Matches), await store.CountAsync(filter));
        }
    }

    public void Dispose()
    {
        if (Directory.Exists(_directory)) Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public async Task events_heads_and_positions_survive_reopening_the_file()
    {
        var options = new SqliteEventStoreOptions { Path = NewPath() };
        var alice = TestEvents.Pubkey("alice");
        var first = TestEvents.Create(alice, 100, tags: [["t", "kept"]]);
        var last = TestEvents.Create(alice, 101);
        SaveResult lastSaved;
        await using (var store = new SqliteEventStore(options))
        {
            await store.InitAsync();
            await store.InitAsync();
            await store.SaveAsync(first, alice, 0);
            lastSaved = await store.SaveAsync(last, alice, 1);
            Assert.True(await store.DeleteAsync(last.Id));
        }

        await using (var reopened = new SqliteEventStore(options))
        {
            await reopened.InitAsync();
            Assert.Equal([first.Id], await reopened.QueryAsync(new Filter { Tags = [new TagFilter('t', ["kept"])] }).Select(e => e.Id).ToListAsync());
            Assert.Equal(2, await reopened.ReadStreamHeadAsync(alice));
            var next = await reopened.SaveAsync(TestEvents.Create(alice, 102), alice, 2);
            Assert.Equal(3, next.Version);
            Assert.True(next.Position > lastSaved.Position, "a deleted event's position must not be handed out again after a restart");
        }
    }

    [Fact]
    public async Task init_creates_the_missing_directory()
    {
        var path = Path.Combine(_directory, "a", "b", "c", "relay.db");
        await using var store = new SqliteEventStore(new SqliteEventStoreOptions { Path = path });
        await store.InitAsync();
        Assert.True(File.Exists(path));
    }

    [Fact]
    public async Task using_the_store_before_init_or_after_dispose_throws()
    {
        var store = new SqliteEventStore(new SqliteEventStoreOptions { Path = NewPath() });
        var note = TestEvents.Create(TestEvents.Pubkey("alice"), 100);
        await Assert.ThrowsAsync<InvalidOperationException>(() => store.SaveAsync(note, note.Pubkey, 0));

        await store.InitAsync();
        await store.DisposeAsync();
        await Assert.ThrowsAsync<ObjectDisposedException>(() => store.SaveAsync(note, note.Pubkey, 0));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => store.CountAsync(Filter.Everything));
        await store.DisposeAsync();
    }

    [Fact]
    public async Task dispose_commits_the_writes_already_queued()
    {
        var options = new SqliteEventStoreOptions { Path = NewPath() };
        var authors = Enumerable.Range(0, 300).Select(i => TestEvents.Pubkey($"queued {i}")).ToArray();
        var store = new SqliteEventStore(options);
        await store.InitAsync();
        var saves = authors.Select(a => store.SaveAsync(TestEvents.Create(a, 100), a, 0)).ToArray();
        await store.DisposeAsync();

        Assert.All(await Task.WhenAll(saves), r => Assert.Equal(SaveOutcome.Saved, r.Outcome));
        await using var reopened = new SqliteEventStore(options);
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
    public async Task a_write_that_throws_fails_alone_and_the_rest_of_its_batch_commits()
    {
        var path = NewPath();
        await using var store = new SqliteEventStore(new SqliteEventStoreOptions { Path = path });
        await store.InitAsync();
        var alice = TestEvents.Pubkey("alice");
        var profile = TestEvents.Create(alice, 100, EventKind.Metadata, content: "v1");
        await store.ReplaceAsync(profile, alice, 0);
        // Damage the stored profile so that replacing it throws (its tag keys cannot be read back).
        await using (var vandal = new SqliteConnection($"Data Source={path};Pooling=False"))
        {
            vandal.Open();
            using var damage = vandal.CreateCommand();
            damage.CommandText = "UPDATE events SET json = x'7b7d' WHERE id = unhex($id);";
            damage.Parameters.AddWithValue("$id", profile.Id);
            Assert.Equal(1, damage.ExecuteNonQuery());
        }

        // Sent together, so the failing replace most likely shares a batch with the saves around it.
        var authors = Enumerable.Range(0, 50).Select(i => TestEvents.Pubkey($"bystander {i}")).ToArray();
        var before = authors[..25].Select(a => store.SaveAsync(TestEvents.Create(a, 100), a, 0)).ToArray();
        var replace = store.ReplaceAsync(TestEvents.Create(alice, 200, EventKind.Metadata, content: "v2"), alice, 1);
        var after = authors[25..].Select(a => store.SaveAsync(TestEvents.Create(a, 100), a, 0)).ToArray();

        await Assert.ThrowsAsync<FormatException>(() => replace);
        Assert.All(await Task.WhenAll(before.Concat(after)), r => Assert.Equal(SaveOutcome.Saved, r.Outcome));
        Assert.Equal(50, await store.CountAsync(new Filter { Authors = authors }));
        Assert.Equal(1, await store.ReadStreamHeadAsync(alice));
        // The writer keeps the heads it moved; the batch that was run again must have left them as committed.
        Assert.Equal(SaveOutcome.VersionConflict, (await store.SaveAsync(TestEvents.Create(authors[0], 101), authors[0], 0)).Outcome);
        Assert.All(await Task.WhenAll(authors.Select(a => store.SaveAsync(TestEvents.Create(a, 102), a, 1))), r => Assert.Equal(2, r.Version));
        Assert.Equal(SaveOutcome.VersionConflict, (await store.ReplaceAsync(TestEvents.Create(alice, 300, EventKind.Metadata), alice, 2)).Outcome);
    }

    [Fact]
    public async Task a_count_of_kinds_and_one_tag_condition_reads_the_tag_index_alone()
    {
        var path = NewPath();
        await using (var store = new SqliteEventStore(new SqliteEventStoreOptions { Path = path })) await store.InitAsync();
        string a = new('a', 64), b = new('b', 64);
        using var connection = new SqliteConnection($"Data Source={path};Pooling=False");
        connection.Open();
        Filter[] counts =
        [
            new() { Kinds = [7], Tags = [new TagFilter('e', [a])] },                       // a note's reactions
            new() { Kinds = [3], Tags = [new TagFilter('p', [a, b])], Since = 1, Until = 2 },   // followers of either
        ];
        foreach (var filter in counts)
        {
            using var command = connection.CreateCommand();
            SqliteFilterSql.Count(command, filter);
            command.CommandText = "EXPLAIN QUERY PLAN " + command.CommandText;
            var plan = new List<string>();
            using (var reader = command.ExecuteReader())
                while (reader.Read()) plan.Add(reader.GetString(3));
            var text = string.Join(" | ", plan);
            Assert.Contains("SEARCH tags USING PRIMARY KEY (name=? AND value=?", text);
            Assert.DoesNotContain("events", text);
        }
    }

    public static TheoryData<string, string[]> CommonFilters => new()
    {
        // The filter (named for the test's name), then what its plan must contain. One author or one kind: rows come in
        // created_at order from the index with no sort at all (the reader orders ties by id and stops reading).
        { "kinds:[1] limit:20", ["SEARCH events USING INDEX events_kind (kind=?)"] },
        { "authors:[a] limit:20", ["SEARCH events USING INDEX events_pubkey (pubkey=?)"] },
        { "#p:[a] limit:20", ["SEARCH tags USING PRIMARY KEY (name=? AND value=?)", "USING INTEGER PRIMARY KEY (rowid=?)"] },
        { "limit:20", ["SCAN events USING INDEX events_created_at"] },
        { "kinds:[1,7] since limit:20", ["SEARCH events USING INDEX events_kind (kind=? AND created_at>?)"] },
        { "authors:[a,b] kinds:[1] since limit:20", ["SEARCH events USING INDEX events_pubkey (pubkey=? AND created_at>?)"] },
        { "kinds:[1] #p:[a] since limit:20", ["SEARCH tags USING PRIMARY KEY (name=? AND value=? AND created_at>?)"] },
        { "ids:[a]", ["SEARCH events USING INDEX sqlite_autoindex_events_1 (id=?)"] },
        // Replaceable kinds of named authors: one row per kind and author in the address index, not all their notes.
        { "authors:[a,b] kinds:[0,10002] limit:20", ["SEARCH events USING INDEX events_address (address=?)"] },
        { "authors:[200 of them] kinds:[0]", ["SEARCH events USING INDEX events_address (address=?)"] },
    };

    [Theory]
    [MemberData(nameof(CommonFilters))]
    public async Task common_filters_are_answered_from_indexes(string filterText, string[] planParts)
    {
        var path = NewPath();
        await using (var store = new SqliteEventStore(new SqliteEventStoreOptions { Path = path })) await store.InitAsync();
        string a = new('a', 64), b = new('b', 64);
        var filter = filterText switch
        {
            "kinds:[1] limit:20" => new Filter { Kinds = [1], Limit = 20 },
            "authors:[a] limit:20" => new Filter { Authors = [a], Limit = 20 },
            "#p:[a] limit:20" => new Filter { Tags = [new TagFilter('p', [a])], Limit = 20 },
            "limit:20" => new Filter { Limit = 20 },
            "kinds:[1,7] since limit:20" => new Filter { Kinds = [1, 7], Since = 1, Limit = 20 },
            "authors:[a,b] kinds:[1] since limit:20" => new Filter { Authors = [a, b], Kinds = [1], Since = 1, Limit = 20 },
            "kinds:[1] #p:[a] since limit:20" => new Filter { Kinds = [1], Tags = [new TagFilter('p', [a])], Since = 1, Limit = 20 },
            "authors:[a,b] kinds:[0,10002] limit:20" => new Filter { Authors = [a, b], Kinds = [0, 10_002], Limit = 20 },
            "authors:[200 of them] kinds:[0]" => new Filter { Authors = [.. Enumerable.Range(0, 200).Select(i => TestEvents.Pubkey($"author {i}"))], Kinds = [0] },
            _ => new Filter { Ids = [a] },
        };

        using var connection = new SqliteConnection($"Data Source={path};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        SqliteFilterSql.Select(command, filter, after: null, limit: 20, tiesInOrder: !SqliteFilterSql.TiesSortedByReader(filter));
        command.CommandText = "EXPLAIN QUERY PLAN " + command.CommandText;
        var plan = new List<string>();
        using (var reader = command.ExecuteReader())
            while (reader.Read()) plan.Add(reader.GetString(3));

        var text = string.Join(" | ", plan);
        foreach (var part in planParts) Assert.True(text.Contains(part, StringComparison.Ordinal), $"plan lacks '{part}': {text}");
        Assert.DoesNotContain(plan, line => line is "SCAN events" or "SCAN tags");   // a whole table, in no order
        if (filterText is "kinds:[1] limit:20" or "authors:[a] limit:20" or "limit:20")
            Assert.DoesNotContain(plan, line => line.Contains("TEMP B-TREE", StringComparison.Ordinal));   // rows sorted on the way out
    }

    [Fact]
    public async Task the_wal_file_stays_bounded_under_a_steady_stream_of_writes()
    {
        var path = NewPath();
        await using var store = new SqliteEventStore(new SqliteEventStoreOptions { Path = path });
        await store.InitAsync();

        // ~30 KB of WAL per event: 20,000 events write ~600 MB through the WAL while commits never pause.
        await Task.WhenAll(Enumerable.Range(0, 32).Select(writer => Task.Run(async () =>
        {
            var stream = $"writer-{writer}";
            for (var i = 0; i < 625; i++)
            {
                var evt = TestEvents.Create(TestEvents.Pubkey(stream), 1_700_000_000 + i, tags: [["p", TestEvents.Pubkey($"p{i % 97}")], ["t", $"t{i % 13}"]],
                    content: $"{stream} {i} " + new string('x', 200));
                Assert.Equal(SaveOutcome.Saved, (await store.SaveAsync(evt, stream, i)).Outcome);
            }
        })));

        var wal = new FileInfo(path + "-wal");
        Assert.True(wal.Length < 96L * 1024 * 1024, $"the WAL grew to {wal.Length / (1024 * 1024)} MiB");
    }

    [Fact]
    public async Task a_version_1_file_gets_its_expiration_index_filled_when_opened()
    {
        var options = new SqliteEventStoreOptions { Path = NewPath() };
        var alice = TestEvents.Pubkey("alice");
        var expiring = TestEvents.Create(alice, 100, tags: [["t", "x"], ["expiration", "150"], ["expiration", "120"]]);
        var words = TestEvents.Create(alice, 101, tags: [["expiration", "soon"]]);
        var plain = TestEvents.Create(alice, 102, content: "no \"expiration\" tag, just the word");
        await using (var store = new SqliteEventStore(options))
        {
            await store.InitAsync();
            await store.SaveAsync(expiring, alice, 0);
            await store.SaveAsync(words, alice, 1);
            await store.SaveAsync(plain, alice, 2);
        }
        await using (var connection = new SqliteConnection($"Data Source={options.Path};Pooling=False"))
        {
            await connection.OpenAsync();
            await using var downgrade = connection.CreateCommand();
            downgrade.CommandText = "DROP TABLE expirations; PRAGMA user_version = 1;";
            await downgrade.ExecuteNonQueryAsync();
        }

        await using var reopened = new SqliteEventStore(options);
        await reopened.InitAsync();

        Assert.Empty(await reopened.ReadExpiredAsync(149, 10).ToListAsync());
        Assert.Equal([expiring.Id], await reopened.ReadExpiredAsync(150, 10).ToListAsync());
        Assert.Equal([expiring.Id], await reopened.ReadExpiredAsync(long.MaxValue, 10).ToListAsync());
    }

    /// <summary>Saves one author's events, in order, into a store at <paramref name="options"/>, then closes it.</summary>
    private static async Task SaveAndCloseAsync(SqliteEventStoreOptions options, string author, params NostrEvent[] events)
    {
        await using var store = new SqliteEventStore(options);
        await store.InitAsync();
        for (var i = 0; i < events.Length; i++) await store.SaveAsync(events[i], author, i);
    }

    /// <summary>Runs SQL on a closed store's file: what an older build or a crash would have left there.</summary>
    private static async Task ChangeFileAsync(string path, string sql)
    {
        await using var connection = new SqliteConnection($"Data Source={path};Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>The file's search index as the writer left it: rows and the position it is complete up to.</summary>
    private static async Task<(long Rows, long IndexedThrough)> SearchIndexOfAsync(string path)
    {
        await using var connection = new SqliteConnection($"Data Source={path};Mode=ReadOnly;Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT (SELECT count(*) FROM search_docsize), (SELECT indexed_through FROM search_progress);";
        await using var reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        return (reader.GetInt64(0), reader.GetInt64(1));
    }

    [Fact]
    public async Task the_search_index_is_written_behind_the_events_and_a_search_still_finds_every_saved_one()
    {
        var options = new SqliteEventStoreOptions { Path = NewPath() };
        var alice = TestEvents.Pubkey("alice");
        await using var store = new SqliteEventStore(options);
        await store.InitAsync();
        for (var i = 0; i < 10; i++) await store.SaveAsync(TestEvents.Create(alice, 100 + i, content: $"behind note{i}"), alice, i);

        Assert.Equal((0, 0), await SearchIndexOfAsync(options.Path));   // ten OKs, no index write yet

        Assert.Equal(10, await store.CountAsync(new Filter { Search = "behind" }));
        Assert.Equal((10, 10), await SearchIndexOfAsync(options.Path));
        var last = TestEvents.Create(alice, 200, content: "behind and last");
        await store.SaveAsync(last, alice, 10);
        Assert.Equal([last.Id], await store.QueryAsync(new Filter { Search = "last" }).Select(e => e.Id).ToListAsync());
        Assert.Single(await store.ReadKeysAsync(new Filter { Search = "last" }).ToListAsync());
    }

    [Fact]
    public async Task a_thousand_waiting_events_are_indexed_without_a_search_asking()
    {
        var options = new SqliteEventStoreOptions { Path = NewPath() };
        var alice = TestEvents.Pubkey("alice");
        await using var store = new SqliteEventStore(options);
        await store.InitAsync();
        var saves = new List<Task<SaveResult>>();
        for (var i = 0; i < SqliteSearchIndex.FlushAt + 5; i++)
            saves.Add(store.SaveAsync(TestEvents.Create(TestEvents.Pubkey($"author{i}"), 100 + i, content: $"word{i} common"), TestEvents.Pubkey($"author{i}"), 0));
        await Task.WhenAll(saves);
        // The writer indexes after answering a batch's saves: a save behind them returns once that is done.
        await store.SaveAsync(TestEvents.Create(alice, 99, content: "after"), alice, 0);

        var (rows, through) = await SearchIndexOfAsync(options.Path);
        Assert.True(rows >= SqliteSearchIndex.FlushAt, $"{rows} rows indexed after {saves.Count} saves");
        Assert.Equal(rows, through);
        Assert.Equal(SqliteSearchIndex.FlushAt + 5, await store.CountAsync(new Filter { Search = "common" }));
        Assert.Equal(1, await store.CountAsync(new Filter { Search = "after" }));
    }

    [Fact]
    public async Task events_removed_before_or_after_being_indexed_are_not_found_by_search()
    {
        var options = new SqliteEventStoreOptions { Path = NewPath() };
        var alice = TestEvents.Pubkey("alice");
        await using var store = new SqliteEventStore(options);
        await store.InitAsync();
        var indexed = TestEvents.Create(alice, 100, content: "indexed first");
        var waiting = TestEvents.Create(alice, 101, content: "waiting second");
        var profile = TestEvents.Create(alice, 102, kind: 0, content: "old profile words");
        var newer = TestEvents.Create(alice, 103, kind: 0, content: "new profile words");
        await store.SaveAsync(indexed, alice, 0);
        Assert.Equal(1, await store.CountAsync(new Filter { Search = "first" }));   // indexed now
        await store.SaveAsync(waiting, alice, 1);
        await store.ReplaceAsync(profile, alice, 2);
        Assert.True(await store.DeleteAsync(indexed.Id));
        Assert.True(await store.DeleteAsync(waiting.Id));
        await store.ReplaceAsync(newer, alice, 3);   // removes the waiting profile

        Assert.Empty(await store.QueryAsync(new Filter { Search = "first" }).ToListAsync());
        Assert.Empty(await store.QueryAsync(new Filter { Search = "second" }).ToListAsync());
        Assert.Empty(await store.QueryAsync(new Filter { Search = "old" }).ToListAsync());
        Assert.Equal([newer.Id], await store.QueryAsync(new Filter { Search = "profile" }).Select(e => e.Id).ToListAsync());
        Assert.Equal((1, 4), await SearchIndexOfAsync(options.Path));
    }

    [Fact]
    public async Task events_whose_index_write_was_lost_in_a_crash_are_indexed_when_the_file_is_opened()
    {
        var options = new SqliteEventStoreOptions { Path = NewPath() };
        var alice = TestEvents.Pubkey("alice");
        var first = TestEvents.Create(alice, 100, content: "kept through a crash");
        var second = TestEvents.Create(alice, 101, content: "also kept");
        await SaveAndCloseAsync(options, alice, first, second);
        // What a crash before the index write leaves: the events committed, the index and its progress not.
        await ChangeFileAsync(options.Path, "DELETE FROM search; UPDATE search_progress SET indexed_through = 0;");

        await using var reopened = new SqliteEventStore(options);
        await reopened.InitAsync();

        Assert.Equal((2, 2), await SearchIndexOfAsync(options.Path));
        Assert.Equal([second.Id, first.Id], await reopened.QueryAsync(new Filter { Search = "kept" }).Select(e => e.Id).ToListAsync());
    }

    [Fact]
    public async Task events_indexed_again_after_an_uncertain_flush_are_indexed_once()
    {
        var options = new SqliteEventStoreOptions { Path = NewPath() };
        var alice = TestEvents.Pubkey("alice");
        var first = TestEvents.Create(alice, 100, content: "twice told tale");
        var second = TestEvents.Create(alice, 101, content: "twice told again");
        await SaveAndCloseAsync(options, alice, first, second);
        // The index written, its progress not (as if the flush's outcome were lost): the next open indexes both again.
        await ChangeFileAsync(options.Path, "UPDATE search_progress SET indexed_through = 0;");

        await using var reopened = new SqliteEventStore(options);
        await reopened.InitAsync();
        Assert.True(await reopened.DeleteAsync(first.Id));

        Assert.Equal((1, 2), await SearchIndexOfAsync(options.Path));
        Assert.Equal([second.Id], await reopened.QueryAsync(new Filter { Search = "twice told" }).Select(e => e.Id).ToListAsync());
        await using var file = new SqliteConnection($"Data Source={options.Path};Mode=ReadOnly;Pooling=False");
        await file.OpenAsync();
        await using var left = file.CreateCommand();
        left.CommandText = "SELECT count(*) FROM search WHERE search MATCH 'tale';";
        Assert.Equal(0L, await left.ExecuteScalarAsync());   // no copy of the deleted event's words stayed behind
    }

    [Fact]
    public async Task a_tool_reading_beside_the_relay_leaves_the_search_index_to_the_relay()
    {
        var path = NewPath();
        var alice = TestEvents.Pubkey("alice");
        await using var relay = new SqliteEventStore(new SqliteEventStoreOptions { Path = path });
        await relay.InitAsync();
        for (var i = 0; i < 3; i++) await relay.SaveAsync(TestEvents.Create(alice, 100 + i, content: $"beside {i}"), alice, i);

        await using (var tool = new SqliteEventStore(new SqliteEventStoreOptions { Path = path, ReadOnly = true }))
        {
            await tool.InitAsync();
            Assert.Equal(3, await tool.CountAsync(new Filter { Authors = [alice] }));
            Assert.Equal((0, 0), await SearchIndexOfAsync(path));   // the tool wrote nothing to it
        }

        Assert.Equal(3, await relay.CountAsync(new Filter { Search = "beside" }));
        Assert.Equal((3, 3), await SearchIndexOfAsync(path));
    }

    [Fact]
    public async Task a_version_3_file_keeps_its_search_index_and_indexes_new_events_behind()
    {
        var options = new SqliteEventStoreOptions { Path = NewPath() };
        var alice = TestEvents.Pubkey("alice");
        var old = TestEvents.Create(alice, 100, content: "written by version three");
        await SaveAndCloseAsync(options, alice, old);
        await ChangeFileAsync(options.Path, "DROP TABLE search_progress; PRAGMA user_version = 3;");

        await using var reopened = new SqliteEventStore(options);
        await reopened.InitAsync();
        var next = TestEvents.Create(alice, 101, content: "written by version four");
        await reopened.SaveAsync(next, alice, 1);

        Assert.Equal((1, 1), await SearchIndexOfAsync(options.Path));   // the old event, indexed once
        Assert.Equal([old.Id], await reopened.QueryAsync(new Filter { Search = "three" }).Select(e => e.Id).ToListAsync());
        Assert.Equal(2, await reopened.CountAsync(new Filter { Search = "written version" }));
    }

    [Fact]
    public async Task a_version_4_file_with_keys_as_text_is_read_written_and_migrated_in_place()
    {
        var options = new SqliteEventStoreOptions { Path = NewPath() };
        var alice = TestEvents.Pubkey("alice");
        var first = TestEvents.Create(alice, 100, tags: [["t", "nostr"]]);
        var reply = TestEvents.Create(alice, 101, tags: [["e", first.Id], ["e", first.Id + "\u0000"], ["p", alice]]);
        await SaveAndCloseAsync(options, alice, first, reply);
        await using (var store = new SqliteEventStore(options))
        {
            await store.InitAsync();
            await store.SaveAsync(TestEvents.Create(alice, 102), "a named stream", 0);
        }
        // What version 4 wrote: every key as its text.
        await ChangeFileAsync(options.Path, """
            UPDATE events SET id = lower(hex(id)), pubkey = lower(hex(pubkey)),
                stream = CASE WHEN typeof(stream) = 'blob' THEN lower(hex(stream)) ELSE stream END;
            UPDATE streams SET stream = lower(hex(stream)) WHERE typeof(stream) = 'blob';
            UPDATE tags SET value = lower(hex(value)) WHERE typeof(value) = 'blob';
            PRAGMA user_version = 4;
            """);
        Assert.Equal(0, await CountInFileAsync(options.Path, "SELECT count(*) FROM events WHERE typeof(id) = 'blob';"));

        await using var reopened = new SqliteEventStore(options);
        await reopened.InitAsync();

        Assert.Equal(0, await CountInFileAsync(options.Path, """
            SELECT (SELECT count(*) FROM events WHERE typeof(id) = 'text' OR typeof(pubkey) = 'text' OR stream = lower(hex(pubkey)))
                 + (SELECT count(*) FROM streams WHERE typeof(stream) = 'text' AND stream <> 'a named stream')
                 + (SELECT count(*) FROM tags WHERE typeof(value) = 'text' AND value <> 'nostr' AND octet_length(value) <> 65);
            """));
        Assert.Equal([first.Id], await reopened.QueryAsync(new Filter { Ids = [first.Id] }).Select(e => e.Id).ToListAsync());
        Assert.Equal([reply.Id], await reopened.QueryAsync(new Filter { Tags = [new TagFilter('e', [first.Id])] }).Select(e => e.Id).ToListAsync());
        Assert.Equal([reply.Id], await reopened.QueryAsync(new Filter { Tags = [new TagFilter('e', [first.Id + "\u0000"])] }).Select(e => e.Id).ToListAsync());
        Assert.Equal([first.Id], await reopened.QueryAsync(new Filter { Tags = [new TagFilter('t', ["nostr"])] }).Select(e => e.Id).ToListAsync());
        Assert.Equal(3, await reopened.CountAsync(new Filter { Authors = [alice] }));
        Assert.Equal(2, await reopened.ReadStreamHeadAsync(alice));
        Assert.Equal([first.Id, reply.Id], await reopened.ReadStreamAsync(alice, 0, 10).Select(e => e.Event.Id).ToListAsync());
        Assert.Equal([alice, alice, "a named stream"], await reopened.ReadAllAsync(0, 10).Select(e => e.Stream).ToListAsync());
        Assert.Equal(SaveOutcome.Duplicate, (await reopened.SaveAsync(first, alice, 2)).Outcome);
        Assert.Equal(SaveOutcome.Saved, (await reopened.SaveAsync(TestEvents.Create(alice, 103), alice, 2)).Outcome);
        Assert.Equal(SaveOutcome.Saved, (await reopened.SaveAsync(TestEvents.Create(alice, 104), "a named stream", 1)).Outcome);
    }

    [Fact]
    public async Task a_version_5_file_gets_the_kinds_into_its_tag_rows_and_author_index_when_opened()
    {
        var options = new SqliteEventStoreOptions { Path = NewPath() };
        var alice = TestEvents.Pubkey("alice");
        var note = TestEvents.Create(alice, 100, tags: [["t", "nostr"]]);
        var reply = TestEvents.Create(alice, 101, 1, [["e", note.Id], ["p", alice]]);
        var reaction = TestEvents.Create(alice, 102, 7, [["e", note.Id], ["p", alice]]);
        await SaveAndCloseAsync(options, alice, note, reply, reaction);
        // What version 5 wrote: tag rows without a kind, an author index without it.
        await ChangeFileAsync(options.Path, """
            ALTER TABLE tags DROP COLUMN kind;
            DROP INDEX events_pubkey; CREATE INDEX events_pubkey ON events (pubkey, created_at DESC);
            PRAGMA user_version = 5;
            """);
        Assert.Equal(0, await CountInFileAsync(options.Path, "SELECT count(*) FROM pragma_table_info('tags') WHERE name = 'kind';"));

        await using var reopened = new SqliteEventStore(options);
        await reopened.InitAsync();

        Assert.Equal(6, await CountInFileAsync(options.Path, "PRAGMA user_version;"));
        Assert.Equal(5, await CountInFileAsync(options.Path, "SELECT count(*) FROM tags;"));
        Assert.Equal(0, await CountInFileAsync(options.Path, "SELECT count(*) FROM tags t JOIN events e ON e.position = t.event_position WHERE t.kind <> e.kind;"));
        Assert.Equal(1, await CountInFileAsync(options.Path, "SELECT count(*) FROM sqlite_master WHERE name = 'events_pubkey' AND sql LIKE '%(pubkey, created_at DESC, kind)';"));
        Assert.Equal([reaction.Id], await reopened.QueryAsync(new Filter { Authors = [alice], Kinds = [7] }).Select(e => e.Id).ToListAsync());
        await UpgradedTagRowsCheck.AnswersAsync(reopened, alice, note, reply);
    }

    [Fact]
    public async Task a_tool_reading_beside_the_relay_refuses_a_file_of_an_older_version_and_leaves_it_as_it_was()
    {
        var options = new SqliteEventStoreOptions { Path = NewPath() };
        var alice = TestEvents.Pubkey("alice");
        var note = TestEvents.Create(alice, 100);
        await SaveAndCloseAsync(options, alice, note);
        await ChangeFileAsync(options.Path, "UPDATE events SET id = lower(hex(id)), pubkey = lower(hex(pubkey)), stream = lower(hex(stream)); PRAGMA user_version = 4;");

        await using (var tool = new SqliteEventStore(new SqliteEventStoreOptions { Path = options.Path, ReadOnly = true }))
        {
            var refusal = await Assert.ThrowsAsync<InvalidOperationException>(() => tool.InitAsync());
            Assert.Contains("schema version 4, older than this build's 6", refusal.Message);
        }
        Assert.Equal(4, await CountInFileAsync(options.Path, "PRAGMA user_version;"));
        Assert.Equal(1, await CountInFileAsync(options.Path, "SELECT count(*) FROM events WHERE typeof(id) = 'text';"));

        await using var relay = new SqliteEventStore(options);
        await relay.InitAsync();
        Assert.Equal([note.Id], await relay.QueryAsync(new Filter { Ids = [note.Id] }).Select(e => e.Id).ToListAsync());
    }

    private static async Task<long> CountInFileAsync(string path, string sql)
    {
        await using var connection = new SqliteConnection($"Data Source={path};Mode=ReadOnly;Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return (long)(await command.ExecuteScalarAsync())!;
    }

    [Fact]
    public async Task reads_side_by_side_answer_alike_and_a_closed_store_keeps_no_handle_on_its_file()
    {
        var options = new SqliteEventStoreOptions { Path = NewPath() };
        var authors = Enumerable.Range(0, 8).Select(i => TestEvents.Pubkey($"author {i}")).ToArray();
        var store = new SqliteEventStore(options);
        await store.InitAsync();
        for (var i = 0; i < 200; i++) await store.SaveAsync(TestEvents.Create(authors[i % 8], 1_000 + i, tags: [["t", $"t{i % 5}"]]), authors[i % 8], i / 8);

        // More reads at once than connections are kept idle, the same statements again and again.
        var reads = Enumerable.Range(0, 64).Select(i => Task.Run(async () =>
        {
            var byAuthor = await store.QueryAsync(new Filter { Authors = [authors[i % 8]], Limit = 10 }).CountAsync();
            var byTag = await store.CountAsync(new Filter { Tags = [new TagFilter('t', [$"t{i % 5}"])] });
            var head = await store.ReadStreamHeadAsync(authors[i % 8]);
            return (byAuthor, byTag, head);
        })).ToArray();
        Assert.All(await Task.WhenAll(reads), read => Assert.Equal((10, 40L, 25L), read));
        // More statements than a connection keeps prepared: each limit is a statement of its own.
        for (var limit = 1; limit <= 100; limit++)
            Assert.Equal(Math.Min(limit, 25), await store.QueryAsync(new Filter { Authors = [authors[limit % 8]], Limit = limit }).CountAsync());

        await store.DisposeAsync();
        var handles = Directory.EnumerateFiles("/proc/self/fd").Count(fd =>
        {
            try { return new FileInfo(fd).LinkTarget?.StartsWith(options.Path, StringComparison.Ordinal) == true; }
            catch (IOException) { return false; }   // a descriptor closed while listed
        });
        Assert.Equal(0, handles);
    }

    [Fact]
    public async Task a_tool_reading_beside_the_relay_leaves_its_file_and_wal_as_they_were()
    {
        var options = new SqliteEventStoreOptions { Path = NewPath() };
        var alice = TestEvents.Pubkey("alice");
        await using var relay = new SqliteEventStore(options);
        await relay.InitAsync();
        for (var i = 0; i < 20; i++) await relay.SaveAsync(TestEvents.Create(alice, 100 + i), alice, i);
        var wal = new FileInfo(options.Path + "-wal");
        var before = (File.ReadAllBytes(options.Path), wal.Length);
        Assert.True(before.Length > 0);

        await using (var tool = new SqliteEventStore(new SqliteEventStoreOptions { Path = options.Path, ReadOnly = true }))
        {
            await tool.InitAsync();
            Assert.Equal(20, await tool.CountAsync(Filter.Everything));
        }

        wal.Refresh();
        Assert.Equal(before.Length, wal.Length);   // no checkpoint of its own, which would empty the relay's WAL
        Assert.Equal(before.Item1, File.ReadAllBytes(options.Path));
    }

    [Fact]
    public async Task a_second_writer_on_the_file_is_refused_until_the_first_closes_and_readers_are_let_in()
    {
        var options = new SqliteEventStoreOptions { Path = NewPath() };
        var alice = TestEvents.Pubkey("alice");
        var first = new SqliteEventStore(options);
        await first.InitAsync();
        await first.SaveAsync(TestEvents.Create(alice, 100), alice, 0);

        await using (var second = new SqliteEventStore(options))
        {
            var refusal = await Assert.ThrowsAsync<InvalidOperationException>(() => second.InitAsync());
            Assert.Contains("is being written by another process or store (a running relay, or an import): stop it first", refusal.Message);
        }
        await using (var tool = new SqliteEventStore(new SqliteEventStoreOptions { Path = options.Path, ReadOnly = true }))
        {
            await tool.InitAsync();
            Assert.Equal(1, await tool.CountAsync(Filter.Everything));
        }
        Assert.Equal(SaveOutcome.Saved, (await first.SaveAsync(TestEvents.Create(alice, 101), alice, 1)).Outcome);
        await first.DisposeAsync();

        await using var next = new SqliteEventStore(options);
        await next.InitAsync();
        Assert.Equal(SaveOutcome.Saved, (await next.SaveAsync(TestEvents.Create(alice, 102), alice, 2)).Outcome);
    }

    [Fact]
    public async Task a_deletion_request_stored_before_a_restart_still_keeps_its_event_out()
    {
        var options = new SqliteEventStoreOptions { Path = NewPath() };
        var alice = TestEvents.Pubkey("alice");
        var doomed = TestEvents.Create(alice, 100);
        await using (var store = new SqliteEventStore(options))
        {
            await store.InitAsync();
            await store.SaveAsync(TestEvents.Create(alice, 110, 5, [["e", doomed.Id]]), alice, 0);
        }

        await using var reopened = new SqliteEventStore(options);
        await reopened.InitAsync();

        Assert.Equal(SaveResult.Deleted, await reopened.SaveAsync(doomed, alice, 1));
    }
}
