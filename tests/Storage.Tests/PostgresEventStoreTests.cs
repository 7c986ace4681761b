using Microsoft.Extensions.Configuration;
using Npgsql;
using NostrRelay.Hosting;
using NostrRelay.Protocol;
using NostrRelay.Storage.Postgres;

namespace NostrRelay.Storage.Tests;

/// <summary>
/// The Postgres store against the real server the test command starts (RELAY_TEST_POSTGRES, or the default
/// below). Each test gets a schema of its own, dropped afterwards. Never skipped: without a server these fail.
/// </summary>
public sealed class PostgresEventStoreTests : EventStoreConformance, IAsyncLifetime
{
    private const string DefaultConnectionString = "Host=127.0.0.1;Port=5432;Username=relay;Password=relay;Database=relay_tests";

    private static string ConnectionString =>
        Environment.GetEnvironmentVariable("RELAY_TEST_POSTGRES") is { Length: > 0 } configured ? configured : DefaultConnectionString;

    private readonly List<string> _schemas = [];

    private string NewSchema()
    {
        var schema = "t_" + Guid.NewGuid().ToString("N");
        lock (_schemas) _schemas.Add(schema);
        return schema;
    }

    private static PostgresEventStore NewStore(string schema, int maxWriteBatch = 512) =>
        new(new PostgresEventStoreOptions { ConnectionString = ConnectionString, Schema = schema, MaxWriteBatch = maxWriteBatch });

    protected override async Task<IEventStore> CreateEmptyStoreAsync()
    {
        var store = NewStore(NewSchema());
        await InitAsync(store);
        return store;
    }

    /// <summary>Init, with a message that says what to do when no server answers.</summary>
    private static async Task InitAsync(PostgresEventStore store)
    {
        try
        {
            await store.InitAsync();
        }
        catch (Exception e) when (e is NpgsqlException { IsTransient: true } or System.Net.Sockets.SocketException or TimeoutException)
        {
            var target = new NpgsqlConnectionStringBuilder(ConnectionString) { Password = null };
            throw new InvalidOperationException(
                $"PostgreSQL is not reachable ({target}): {e.Message}. ./test.sh installs and starts it; or set RELAY_TEST_POSTGRES to a server's connection string.", e);
        }
    }

    /// <summary>What store version 3 had: tag rows without a kind, keyed without it.</summary>
    private static async Task DowngradeToVersion3Async(string schema)
    {
        await using var connection = await OpenAsync();
        await using var downgrade = new NpgsqlCommand($"""
            ALTER TABLE "{schema}".tags DROP CONSTRAINT tags_pkey, ADD CONSTRAINT tags_pkey PRIMARY KEY (name, value, created_at, event_position);
            ALTER TABLE "{schema}".tags DROP COLUMN kind;
            UPDATE "{schema}".schema_version SET version = 3;
            """, connection);
        await downgrade.ExecuteNonQueryAsync();
    }

    private static async Task<NpgsqlConnection> OpenAsync()
    {
        var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        return connection;
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (_schemas.Count == 0) return;
        await using var connection = await OpenAsync();
        foreach (var schema in _schemas)
        {
            await using var drop = new NpgsqlCommand($"DROP SCHEMA IF EXISTS \"{schema}\" CASCADE", connection);
            await drop.ExecuteNonQueryAsync();
        }
        NpgsqlConnection.ClearAllPools();
    }

    [Fact]
    public async Task readers_from_their_last_position_see_every_position_once_and_in_order_while_several_stores_write()
    {
        // Several silos on one schema, each with its own writer and small batches, so their transactions
        // interleave; a bookmark consumer reads on from the last position it saw. Without the sequencer, a
        // transaction that drew lower positions and commits later is skipped by such a reader.
        var schema = NewSchema();
        var stores = new PostgresEventStore[3];
        for (var i = 0; i < stores.Length; i++) stores[i] = NewStore(schema, maxWriteBatch: 8);
        await Task.WhenAll(stores.Select(InitAsync));
        try
        {
            await SharedLogCheck.ReadersSeeEveryPositionOnceInOrderAsync(stores, writersPerStore: 12, eventsPerWriter: 40);
        }
        finally
        {
            foreach (var store in stores) await store.DisposeAsync();
        }
    }

    [Fact]
    public async Task relay_store_type_postgres_selects_this_store_on_the_configured_schema()
    {
        var schema = NewSchema();
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Relay:Store:Type"] = "postgres",
            ["Relay:Store:ConnectionString"] = ConnectionString,
            ["Relay:Store:Schema"] = schema,
        }).Build();
        await using var store = Assert.IsType<PostgresEventStore>(EventStoreFactory.Create(configuration.GetSection("Relay:Store"), contentRoot: "/"));
        await InitAsync(store);

        var alice = TestEvents.Pubkey("alice");
        await store.SaveAsync(TestEvents.Create(alice, 100), alice, 0);
        await using var connection = await OpenAsync();
        await using var count = new NpgsqlCommand($"SELECT count(*) FROM \"{schema}\".events", connection);
        Assert.Equal(1L, await count.ExecuteScalarAsync());
    }

    [Fact]
    public void relay_store_type_postgres_without_a_connection_string_is_refused()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["Relay:Store:Type"] = "Postgres" }).Build();
        var error = Assert.Throws<InvalidOperationException>(() => EventStoreFactory.Create(configuration.GetSection("Relay:Store"), contentRoot: "/"));
        Assert.Contains("Relay:Store:ConnectionString", error.Message);
    }

    [Fact]
    public async Task two_stores_initialising_one_new_schema_at_once_both_open()
    {
        var schema = NewSchema();
        var stores = Enumerable.Range(0, 4).Select(_ => NewStore(schema)).ToArray();
        try
        {
            await Task.WhenAll(stores.Select(s => Task.Run(() => InitAsync(s))));
            var alice = TestEvents.Pubkey("alice");
            Assert.Equal(SaveOutcome.Saved, (await stores[0].SaveAsync(TestEvents.Create(alice, 100), alice, 0)).Outcome);
            Assert.Equal(1, await stores[3].ReadStreamHeadAsync(alice));
        }
        finally
        {
            foreach (var store in stores) await store.DisposeAsync();
        }
    }

    [Fact]
    public async Task a_duplicate_activation_on_another_store_gets_a_version_conflict()
    {
        var schema = NewSchema();
        await using var first = NewStore(schema);
        await using var second = NewStore(schema);
        await InitAsync(first);
        await InitAsync(second);
        var alice = TestEvents.Pubkey("alice");
        var contenders = Enumerable.Range(0, 16).Select(i => TestEvents.Create(alice, 100, content: $"contender {i}")).ToArray();

        var results = await Task.WhenAll(contenders.Select((e, i) => Task.Run(() => (i % 2 == 0 ? first : second).SaveAsync(e, alice, 0))));

        Assert.Single(results, r => r.Outcome == SaveOutcome.Saved);
        Assert.Equal(15, results.Count(r => r.Outcome == SaveOutcome.VersionConflict));
        Assert.Equal(1, await second.CountAsync(Filter.Everything));
    }

    [Fact]
    public async Task events_heads_and_positions_survive_reopening_the_schema()
    {
        var schema = NewSchema();
        var alice = TestEvents.Pubkey("alice");
        var first = TestEvents.Create(alice, 100, tags: [["t", "kept"]]);
        var last = TestEvents.Create(alice, 101);
        SaveResult lastSaved;
        await using (var store = NewStore(schema))
        {
            await InitAsync(store);
            await InitAsync(store);
            await store.SaveAsync(first, alice, 0);
            lastSaved = await store.SaveAsync(last, alice, 1);
            Assert.True(await store.DeleteAsync(last.Id));
        }

        await using (var reopened = NewStore(schema))
        {
            await InitAsync(reopened);
            Assert.Equal([first.Id], await reopened.QueryAsync(new Filter { Tags = [new TagFilter('t', ["kept"])] }).Select(e => e.Id).ToListAsync());
            Assert.Equal(2, await reopened.ReadStreamHeadAsync(alice));
            var next = await reopened.SaveAsync(TestEvents.Create(alice, 102), alice, 2);
            Assert.Equal(3, next.Version);
            Assert.True(next.Position > lastSaved.Position, "a deleted event's position must not be handed out again");
        }
    }

    [Fact]
    public async Task a_schema_from_a_newer_build_is_refused()
    {
        var schema = NewSchema();
        await using (var store = NewStore(schema)) await InitAsync(store);
        await using (var connection = await OpenAsync())
        await using (var bump = new NpgsqlCommand($"UPDATE \"{schema}\".schema_version SET version = 99", connection))
            await bump.ExecuteNonQueryAsync();

        await using var newer = NewStore(schema);
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => newer.InitAsync());
        Assert.Contains("99", error.Message);
    }

    [Fact]
    public async Task tag_values_longer_than_an_index_entry_are_stored_and_found()
    {
        await using var store = await CreateEmptyStoreAsync();
        var alice = TestEvents.Pubkey("alice");
        var huge = new string('r', 10_000);
        var note = TestEvents.Create(alice, 100, tags: [["r", huge], ["t", "short"]]);
        Assert.Equal(SaveOutcome.Saved, (await store.SaveAsync(note, alice, 0)).Outcome);

        Assert.Equal([note.Id], await store.QueryAsync(new Filter { Tags = [new TagFilter('r', [huge])] }).Select(e => e.Id).ToListAsync());
        Assert.Empty(await store.QueryAsync(new Filter { Tags = [new TagFilter('r', [huge[..^1]])] }).ToListAsync());
        Assert.True(await store.DeleteAsync(note.Id));
    }

    [Fact]
    public async Task nul_characters_in_an_address_and_a_tag_name_are_stored_and_found()
    {
        // PostgreSQL text cannot hold U+0000, which JSON (and so an event) can: such fields are kept as bytes.
        await using var store = await CreateEmptyStoreAsync();
        var alice = TestEvents.Pubkey("alice");
        var v1 = TestEvents.Create(alice, 100, 30_023, [["d", "a\u0000b"], ["\u0000", "x\u0000y"]], "v1");
        var v2 = TestEvents.Create(alice, 200, 30_023, [["d", "a\u0000b"]], "v2");
        var other = TestEvents.Create(alice, 150, 30_023, [["d", "a"]], "other");
        Assert.Equal(SaveOutcome.Saved, (await Seed.AppendAsync(store, v1)).Outcome);
        Assert.Equal(SaveOutcome.Saved, (await Seed.AppendAsync(store, other)).Outcome);
        Assert.Equal([v1.Id], await store.QueryAsync(new Filter { Tags = [new TagFilter('\u0000', ["x\u0000y"])] }).Select(e => e.Id).ToListAsync());

        Assert.Equal(SaveOutcome.Saved, (await Seed.AppendAsync(store, v2)).Outcome);
        Assert.Equal([v2.Id, other.Id], await store.QueryAsync(new Filter { Authors = [alice] }).Select(e => e.Id).ToListAsync());
        Assert.Empty(await store.QueryAsync(new Filter { Tags = [new TagFilter('\u0000', ["x\u0000y"])] }).ToListAsync());
    }

    [Fact]
    public async Task using_the_store_before_init_or_after_dispose_throws()
    {
        var store = NewStore(NewSchema());
        var note = TestEvents.Create(TestEvents.Pubkey("alice"), 100);
        await Assert.ThrowsAsync<InvalidOperationException>(() => store.SaveAsync(note, note.Pubkey, 0));

        await InitAsync(store);
        await store.DisposeAsync();
        await Assert.ThrowsAsync<ObjectDisposedException>(() => store.SaveAsync(note, note.Pubkey, 0));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => store.CountAsync(Filter.Everything));
        await store.DisposeAsync();
    }

    [Fact]
    public async Task dispose_commits_the_writes_already_queued()
    {
        var schema = NewSchema();
        var authors = Enumerable.Range(0, 300).Select(i => TestEvents.Pubkey($"queued {i}")).ToArray();
        var store = NewStore(schema);
        await InitAsync(store);
        var saves = authors.Select(a => store.SaveAsync(TestEvents.Create(a, 100), a, 0)).ToArray();
        await store.DisposeAsync();

        Assert.All(await Task.WhenAll(saves), r => Assert.Equal(SaveOutcome.Saved, r.Outcome));
        await using var reopened = NewStore(schema);
        await InitAsync(reopened);
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
        var schema = NewSchema();
        await using var store = NewStore(schema);
        await InitAsync(store);
        var alice = TestEvents.Pubkey("alice");
        var profile = TestEvents.Create(alice, 100, EventKind.Metadata, content: "v1");
        await store.ReplaceAsync(profile, alice, 0);
        // Damage the stored profile so that replacing it throws (its tag keys cannot be read back).
        await using (var connection = await OpenAsync())
        await using (var damage = new NpgsqlCommand($"UPDATE \"{schema}\".events SET json = '\\x7b7d' WHERE id = $1", connection))
        {
            damage.Parameters.Add(new NpgsqlParameter<string> { TypedValue = profile.Id });
            Assert.Equal(1, await damage.ExecuteNonQueryAsync());
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
    }

    [Fact]
    public async Task a_statement_that_fails_on_the_server_fails_its_write_alone()
    {
        var schema = NewSchema();
        await using var store = NewStore(schema);
        await InitAsync(store);
        // A rule the store does not know about, checked by the server: only its writes fail.
        await using (var connection = await OpenAsync())
        await using (var check = new NpgsqlCommand($"ALTER TABLE \"{schema}\".events ADD CONSTRAINT no_kind_4 CHECK (kind <> 4)", connection))
            await check.ExecuteNonQueryAsync();

        var authors = Enumerable.Range(0, 40).Select(i => TestEvents.Pubkey($"author {i}")).ToArray();
        var saves = authors.Select((a, i) => store.SaveAsync(TestEvents.Create(a, 100, kind: i == 17 ? 4 : 1), a, 0)).ToArray();

        await Assert.ThrowsAsync<PostgresException>(() => saves[17]);
        Assert.All(await Task.WhenAll(saves.Where((_, i) => i != 17)), r => Assert.Equal(SaveOutcome.Saved, r.Outcome));
        Assert.Equal(39, await store.CountAsync(Filter.Everything));
        Assert.Equal(0, await store.ReadStreamHeadAsync(authors[17]));
    }

    [Fact]
    public async Task a_new_store_filling_up_writes_without_reading_its_whole_events_table()
    {
        var schema = NewSchema();
        const int Rounds = 40, Authors = 100;
        await using (var store = NewStore(schema))
        {
            await InitAsync(store);
            // The writer's statements are prepared in the first rounds, while the table holds a few hundred rows.
            for (var round = 0; round < Rounds; round++)
                await Task.WhenAll(Enumerable.Range(0, Authors).Select(a =>
                {
                    var author = TestEvents.Pubkey($"author {a}");
                    return store.SaveAsync(TestEvents.Create(author, 1_000 + round, content: $"round {round}"), author, round);
                }));
        }

        var (inserted, scanned) = await WriterStatisticsAsync(schema, Rounds * Authors,
            "SELECT seq_tup_read FROM pg_stat_user_tables WHERE schemaname = $1 AND relname = 'events'");

        Assert.Equal(Rounds * Authors, inserted);
        // A round that scanned the table read every row written before it: tens of thousands of rows over the test.
        Assert.True(scanned < Authors, $"the writes read {scanned} rows of the events table by scanning it");
    }

    [Fact]
    public async Task a_new_store_filling_up_looks_for_deletions_of_its_events_by_value_not_through_every_tag()
    {
        var schema = NewSchema();
        const int Rounds = 40, Authors = 100;
        await using (var store = NewStore(schema))
        {
            await InitAsync(store);
            // Each event replies to its author's previous one: the e rows grow with the table, and every write round
            // asks whether a deletion request names its events, while the statement's plan was made on a few rows.
            var previous = new string?[Authors];
            for (var round = 0; round < Rounds; round++)
                await Task.WhenAll(Enumerable.Range(0, Authors).Select(async a =>
                {
                    var author = TestEvents.Pubkey($"author {a}");
                    var evt = TestEvents.Create(author, 1_000 + round, tags: previous[a] is { } id ? [["e", id]] : null, content: $"round {round}");
                    await store.SaveAsync(evt, author, round);
                    previous[a] = evt.Id;
                }));
        }

        var (inserted, read) = await WriterStatisticsAsync(schema, Rounds * Authors,
            "SELECT idx_tup_read FROM pg_stat_user_indexes WHERE schemaname = $1 AND indexrelname = 'tags_pkey'");

        Assert.Equal(Rounds * Authors, inserted);
        // Each event is named by one reply, written after it: a probe by value reads next to nothing. Reading a
        // letter's every row on every round would be tens of thousands over the test.
        Assert.True(read < Rounds * Authors, $"the writes read {read} entries of the tags index");
    }

    /// <summary>
    /// The events table's inserts and one other statistic of <paramref name="schema"/> (<paramref name="figure"/>, a
    /// query of one value taking the schema as $1), once the inserts reach <paramref name="expected"/> or 15 s passed:
    /// the writer's server process reports its statistics once its connection is closed (the store is disposed).
    /// </summary>
    private static async Task<(long Inserted, long Figure)> WriterStatisticsAsync(string schema, long expected, string figure)
    {
        long inserted = 0, value = 0;
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (inserted < expected && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100);
            await using var connection = await OpenAsync();
            await using var stats = new NpgsqlCommand(
                $"SELECT (SELECT n_tup_ins FROM pg_stat_user_tables WHERE schemaname = $1 AND relname = 'events'), ({figure})", connection);
            stats.Parameters.AddWithValue(schema);
            await using var reader = await stats.ExecuteReaderAsync();
            if (await reader.ReadAsync() && !reader.IsDBNull(0) && !reader.IsDBNull(1)) (inserted, value) = (reader.GetInt64(0), reader.GetInt64(1));
        }
        return (inserted, value);
    }

    public static TheoryData<string, string> CommonFilters => new()
    {
        // The filter (named for the test's name), then the index its plan must read in NIP-01 order.
        { "kinds:[1] limit:20", "events_" },
        { "authors:[a] limit:20", "events_pubkey" },
        { "#p:[a] limit:20", "tags_pkey" },
        { "kinds:[7] #p:[a] limit:20", "tags_pkey" },   // the kind checked on the tags index, not on each event
        { "limit:20", "events_created_at" },
    };

    /// <summary>
    /// On a table with statistics, each common shape is read from an index in created_at order, so LIMIT stops
    /// the scan: no Sort node over all matches (an Incremental Sort, ordering only ties by id, is fine), no
    /// sequential scan.
    /// </summary>
    [Theory]
    [MemberData(nameof(CommonFilters))]
    public async Task common_filters_are_answered_from_indexes_in_order(string filterText, string index)
    {
        var schema = NewSchema();
        await using (var store = NewStore(schema)) await InitAsync(store);
        string a = new('a', 64);
        await using var connection = await OpenAsync();
        // 20,000 events: a quarter by author a, a quarter tagging p a, most of kind 1 (as in a real relay).
        await using (var seed = new NpgsqlBatch(connection))
        {
            var events = new NpgsqlBatchCommand($"""
                INSERT INTO "{schema}".events (id, pubkey, created_at, kind, stream, version, json)
                SELECT md5(g::text) || md5((-g)::text), CASE WHEN g % 4 = 0 THEN $1 ELSE md5((g % 997)::text) || md5((g % 997)::text) END,
                       1700000000 + g * 7, CASE WHEN g % 10 < 7 THEN 1 ELSE 7 END, md5(g::text), 1, '\x7b7d'
                FROM generate_series(1, 20000) g
                """);
            events.Parameters.Add(new NpgsqlParameter<string> { TypedValue = a });
            var tags = new NpgsqlBatchCommand($"""
                INSERT INTO "{schema}".tags (name, value, created_at, event_position, kind)
                SELECT ascii('p'), sha256(convert_to(CASE WHEN position % 4 = 1 THEN $1 ELSE md5(position::text) END, 'UTF8')), created_at, position, kind
                FROM "{schema}".events
                """);
            tags.Parameters.Add(new NpgsqlParameter<string> { TypedValue = a });
            seed.BatchCommands.Add(events);
            seed.BatchCommands.Add(tags);
            seed.BatchCommands.Add(new NpgsqlBatchCommand($"ANALYZE \"{schema}\".events"));
            seed.BatchCommands.Add(new NpgsqlBatchCommand($"ANALYZE \"{schema}\".tags"));
            await seed.ExecuteNonQueryAsync();
        }
        var filter = filterText switch
        {
            "kinds:[1] limit:20" => new Filter { Kinds = [1], Limit = 20 },
            "authors:[a] limit:20" => new Filter { Authors = [a], Limit = 20 },
            "#p:[a] limit:20" => new Filter { Tags = [new TagFilter('p', [a])], Limit = 20 },
            "kinds:[7] #p:[a] limit:20" => new Filter { Kinds = [7], Tags = [new TagFilter('p', [a])], Limit = 20 },
            _ => new Filter { Limit = 20 },
        };

        await using var command = new NpgsqlCommand { Connection = connection };
        PostgresFilterSql.Select(command, new PostgresSchema(schema), filter, after: null, limit: 20);
        command.CommandText = "EXPLAIN " + command.CommandText;
        var plan = new List<string>();
        await using (var reader = await command.ExecuteReaderAsync())
            while (await reader.ReadAsync()) plan.Add(reader.GetString(0));

        var text = string.Join(" | ", plan);
        Assert.True(plan[0].TrimStart().StartsWith("Limit", StringComparison.Ordinal), $"plan does not stop at the limit: {text}");
        Assert.True(text.Contains($"using {index}", StringComparison.Ordinal), $"plan does not read {index}: {text}");
        Assert.DoesNotContain(plan, line => line.TrimStart().StartsWith("->  Sort  (", StringComparison.Ordinal) || line.TrimStart().StartsWith("Sort  (", StringComparison.Ordinal));
        Assert.DoesNotContain("Seq Scan", text, StringComparison.Ordinal);
        if (filter.Kinds is not null && filter.Tags is not null)
        {
            // The kind is checked on the tags index's entries, before any event is fetched.
            var scan = plan.FindIndex(line => line.Contains("using tags_pkey", StringComparison.Ordinal));
            var scanFilter = plan.Skip(scan + 1).TakeWhile(line => !line.Contains("->", StringComparison.Ordinal)).FirstOrDefault(line => line.TrimStart().StartsWith("Filter:", StringComparison.Ordinal));
            Assert.True(scanFilter is not null && scanFilter.Contains("kind", StringComparison.Ordinal), $"the tags scan does not check the kind: {text}");
        }
    }

    [Fact]
    public async Task a_version_3_schema_gives_its_tag_rows_their_events_kinds_when_opened()
    {
        var schema = NewSchema();
        var alice = TestEvents.Pubkey("alice");
        var note = TestEvents.Create(alice, 100, tags: [["t", "nostr"]]);
        var reply = TestEvents.Create(alice, 101, 1, [["e", note.Id], ["p", alice]]);
        var reaction = TestEvents.Create(alice, 102, 7, [["e", note.Id], ["p", alice]]);
        await using (var store = NewStore(schema))
        {
            await InitAsync(store);
            await store.SaveAsync(note, alice, 0);
            await store.SaveAsync(reply, alice, 1);
            await store.SaveAsync(reaction, alice, 2);
        }
        await DowngradeToVersion3Async(schema);

        await using var reopened = NewStore(schema);
        await InitAsync(reopened);

        await using (var connection = await OpenAsync())
        {
            await using var check = new NpgsqlCommand($"""
                SELECT (SELECT count(*) FROM "{schema}".tags),
                       (SELECT count(*) FROM "{schema}".tags t JOIN "{schema}".events e ON e.position = t.event_position WHERE t.kind = e.kind),
                       (SELECT indexdef FROM pg_indexes WHERE schemaname = $1 AND indexname = 'tags_pkey'),
                       (SELECT max(version) FROM "{schema}".schema_version)
                """, connection);
            check.Parameters.Add(new NpgsqlParameter<string> { TypedValue = schema });
            await using var reader = await check.ExecuteReaderAsync();
            Assert.True(await reader.ReadAsync());
            Assert.Equal(5, reader.GetInt64(0));
            Assert.Equal(5, reader.GetInt64(1));
            Assert.EndsWith("INCLUDE (kind)", reader.GetString(2));
            Assert.Equal(4, reader.GetInt32(3));
        }
        await UpgradedTagRowsCheck.AnswersAsync(reopened, alice, note, reply);
    }

    [Fact]
    public async Task an_upgrade_waits_for_an_older_silos_write_in_flight_instead_of_deadlocking_with_it()
    {
        var schema = NewSchema();
        var alice = TestEvents.Pubkey("alice");
        await using (var store = NewStore(schema))
        {
            await InitAsync(store);
            await store.SaveAsync(TestEvents.Create(alice, 100, tags: [["p", alice]]), alice, 0);
        }
        await DowngradeToVersion3Async(schema);

        // An older silo's write, as its writer does it: the sequencer lock, the tags read for deletion requests, then
        // the events insert, in one transaction.
        await using var older = await OpenAsync();
        await using var write = await older.BeginTransactionAsync();
        await using (var first = new NpgsqlCommand($"""{new PostgresSchema(schema).TakeSequencerLock}; SELECT count(*) FROM "{schema}".tags;""", older, write))
            await first.ExecuteNonQueryAsync();
        await using var upgraded = NewStore(schema);
        var upgrading = upgraded.InitAsync();
        await using (var watch = await OpenAsync())
        {
            // The upgrade is waiting on a lock (the sequencer's, with the fix; the tags' otherwise, holding the events).
            await using var waiting = new NpgsqlCommand("SELECT count(*) FROM pg_locks WHERE NOT granted", watch);
            var deadline = DateTime.UtcNow.AddSeconds(10);
            while ((long)(await waiting.ExecuteScalarAsync())! == 0 && DateTime.UtcNow < deadline) await Task.Delay(20);
        }
        Assert.False(upgrading.IsCompleted);
        await using (var insert = new NpgsqlCommand($"""
            INSERT INTO "{schema}".events (id, pubkey, created_at, kind, stream, version, json)
            VALUES (repeat('b', 64), repeat('b', 64), 101, 1, 'an older silo', 1, '\x7b7d')
            """, older, write))
            await insert.ExecuteNonQueryAsync();
        await write.CommitAsync();

        await upgrading;
        Assert.Equal(1, await upgraded.CountAsync(new Filter { Kinds = [1], Tags = [new TagFilter('p', [alice])] }));
        Assert.Equal(2, await upgraded.CountAsync(Filter.Everything));
    }

    [Fact]
    public async Task tag_rows_an_older_build_writes_without_a_kind_during_a_rolling_upgrade_are_still_found_by_kind()
    {
        var schema = NewSchema();
        var alice = TestEvents.Pubkey("alice");
        var bob = TestEvents.Pubkey("bob");
        var note = TestEvents.Create(alice, 100);
        var events = new List<NostrEvent> { note };
        for (var i = 0; i < 30; i++)
            events.Add(TestEvents.Create(TestEvents.Pubkey($"reader {i}"), 101 + i, i % 3 == 0 ? 1 : 7, [["e", note.Id], ["p", i % 2 == 0 ? alice : bob]]));
        await using var store = NewStore(schema);
        await InitAsync(store);
        for (var i = 0; i < events.Count; i++) Assert.Equal(SaveOutcome.Saved, (await store.SaveAsync(events[i], events[i].Pubkey, 0)).Outcome);
        await using (var connection = await OpenAsync())
        {
            // What a silo of the previous build writes: its insert names no kind, and the column's default fills it in.
            await using var older = new NpgsqlCommand($"""
                CREATE TEMP TABLE kept AS SELECT name, value, created_at, event_position FROM "{schema}".tags WHERE event_position % 2 = 0;
                DELETE FROM "{schema}".tags WHERE event_position % 2 = 0;
                INSERT INTO "{schema}".tags (name, value, created_at, event_position) SELECT * FROM kept;
                """, connection);
            await older.ExecuteNonQueryAsync();
        }

        Filter[] filters =
        [
            new() { Kinds = [1], Tags = [new TagFilter('p', [alice])], Limit = 3 },
            new() { Kinds = [1], Tags = [new TagFilter('p', [alice, bob])], Limit = 4 },
            new() { Kinds = [7], Tags = [new TagFilter('e', [note.Id])] },
            new() { Kinds = [1, 7], Tags = [new TagFilter('p', [alice, bob])], Since = 110, Limit = 30 },
        ];
        foreach (var filter in filters)
        {
            var expected = events.Where(filter.Matches).Order(Comparer<NostrEvent>.Create(NostrEvent.CompareNewestFirst))
                .Take(filter.Limit ?? int.MaxValue).Select(e => e.Id).ToList();
            Assert.NotEmpty(expected);
            Assert.Equal(expected, await store.QueryAsync(filter).Select(e => e.Id).ToListAsync());
            Assert.Equal(events.Count(filter.Matches), await store.CountAsync(filter));
        }
    }

    [Fact]
    public async Task a_version_1_schema_gets_its_expiration_index_filled_when_opened()
    {
        var schema = NewSchema();
        var alice = TestEvents.Pubkey("alice");
        var expiring = TestEvents.Create(alice, 100, tags: [["t", "x"], ["expiration", "150"], ["expiration", "120"]]);
        var words = TestEvents.Create(alice, 101, tags: [["expiration", "soon"]]);
        // jsonb refuses \u0000; the upgrade must read such an event (this one mentions expiration) all the same.
        var nul = TestEvents.Create(alice, 102, tags: [["expiration"], ["expiration", "160"]], content: "expiration \0 inside");
        await using (var store = NewStore(schema))
        {
            await InitAsync(store);
            await store.SaveAsync(expiring, alice, 0);
            await store.SaveAsync(words, alice, 1);
            await store.SaveAsync(nul, alice, 2);
        }
        await using (var connection = new NpgsqlConnection(ConnectionString))
        {
            await connection.OpenAsync();
            await using var downgrade = new NpgsqlCommand(
                $"DROP TABLE \"{schema}\".expirations; UPDATE \"{schema}\".schema_version SET version = 1;", connection);
            await downgrade.ExecuteNonQueryAsync();
        }

        await using var reopened = NewStore(schema);
        await InitAsync(reopened);

        Assert.Empty(await reopened.ReadExpiredAsync(149, 10).ToListAsync());
        Assert.Equal([expiring.Id, nul.Id], await reopened.ReadExpiredAsync(long.MaxValue, 10).ToListAsync());
    }
}
