using Microsoft.Extensions.Configuration;
using MySqlConnector;
using NostrRelay.Hosting;
using NostrRelay.Protocol;
using NostrRelay.Storage.MySql;

namespace NostrRelay.Storage.Tests;

/// <summary>
/// The MariaDB store against the real server the test command starts (RELAY_TEST_MYSQL, or the default below). Each
/// test gets a database of its own, dropped afterwards. Never skipped: without a server these fail.
/// </summary>
public sealed class MySqlEventStoreTests : EventStoreConformance, IAsyncLifetime
{
    private const string DefaultConnectionString = "Server=127.0.0.1;Port=3306;User ID=relay;Password=relay";

    private static string ConnectionString =>
        Environment.GetEnvironmentVariable("RELAY_TEST_MYSQL") is { Length: > 0 } configured ? configured : DefaultConnectionString;

    private readonly List<string> _databases = [];

    private string NewDatabase()
    {
        var database = "t_" + Guid.NewGuid().ToString("N");
        lock (_databases) _databases.Add(database);
        return database;
    }

    private static MySqlEventStore NewStore(string database, int maxWriteBatch = 512) =>
        new(new MySqlEventStoreOptions { ConnectionString = ConnectionString, Database = database, MaxWriteBatch = maxWriteBatch });

    protected override async Task<IEventStore> CreateEmptyStoreAsync()
    {
        var store = NewStore(NewDatabase());
        await InitAsync(store);
        return store;
    }

    /// <summary>Init, with a message that says what to do when no server answers.</summary>
    private static async Task InitAsync(MySqlEventStore store)
    {
        try
        {
            await store.InitAsync();
        }
        catch (MySqlException e) when (e.ErrorCode is MySqlErrorCode.UnableToConnectToHost)
        {
            var target = new MySqlConnectionStringBuilder(ConnectionString) { Password = "" };
            throw new InvalidOperationException(
                $"MariaDB is not reachable ({target}): {e.Message}. ./test.sh installs and starts it; or set RELAY_TEST_MYSQL to a server's connection string.", e);
        }
    }

    private static async Task<MySqlConnection> OpenAsync(string? database = null)
    {
        var settings = new MySqlConnectionStringBuilder(ConnectionString);
        if (database is not null) settings.Database = database;
        var connection = new MySqlConnection(settings.ConnectionString);
        await connection.OpenAsync();
        return connection;
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (_databases.Count == 0) return;
        await using var connection = await OpenAsync();
        foreach (var database in _databases)
        {
            await using var drop = new MySqlCommand($"DROP DATABASE IF EXISTS `{database}`", connection);
            await drop.ExecuteNonQueryAsync();
        }
        MySqlConnection.ClearAllPools();
    }

    [Fact]
    public async Task readers_from_their_last_position_see_every_position_once_and_in_order_while_several_stores_write()
    {
        // Several silos on one database, each with its own writer and small batches, so their transactions interleave;
        // a bookmark consumer reads on from the last position it saw. With positions drawn at insert (AUTO_INCREMENT), a
        // transaction that drew lower positions and commits later is skipped by such a reader.
        var database = NewDatabase();
        var stores = new MySqlEventStore[3];
        for (var i = 0; i < stores.Length; i++) stores[i] = NewStore(database, maxWriteBatch: 8);
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
    public async Task relay_store_type_mysql_selects_this_store_on_the_configured_database()
    {
        var database = NewDatabase();
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Relay:Store:Type"] = "MySql",
            ["Relay:Store:ConnectionString"] = ConnectionString,
            ["Relay:Store:Database"] = database,
        }).Build();
        await using var store = Assert.IsType<MySqlEventStore>(EventStoreFactory.Create(configuration.GetSection("Relay:Store"), contentRoot: "/"));
        await InitAsync(store);

        var alice = TestEvents.Pubkey("alice");
        await store.SaveAsync(TestEvents.Create(alice, 100), alice, 0);
        await using var connection = await OpenAsync(database);
        await using var count = new MySqlCommand("SELECT COUNT(*) FROM events", connection);
        Assert.Equal(1L, await count.ExecuteScalarAsync());
    }

    [Fact]
    public void relay_store_type_mysql_without_a_connection_string_is_refused()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["Relay:Store:Type"] = "MariaDb" }).Build();
        var error = Assert.Throws<InvalidOperationException>(() => EventStoreFactory.Create(configuration.GetSection("Relay:Store"), contentRoot: "/"));
        Assert.Contains("Relay:Store:ConnectionString", error.Message);
    }

    [Fact]
    public async Task stores_initialising_one_new_database_at_once_all_open()
    {
        var database = NewDatabase();
        var stores = Enumerable.Range(0, 4).Select(_ => NewStore(database)).ToArray();
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
        var database = NewDatabase();
        await using var first = NewStore(database);
        await using var second = NewStore(database);
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
    public async Task events_heads_and_positions_survive_reopening_the_database()
    {
        var database = NewDatabase();
        var alice = TestEvents.Pubkey("alice");
        var first = TestEvents.Create(alice, 100, tags: [["t", "kept"]]);
        var last = TestEvents.Create(alice, 101);
        SaveResult lastSaved;
        await using (var store = NewStore(database))
        {
            await InitAsync(store);
            await InitAsync(store);
            await store.SaveAsync(first, alice, 0);
            lastSaved = await store.SaveAsync(last, alice, 1);
            Assert.True(await store.DeleteAsync(last.Id));
        }

        await using (var reopened = NewStore(database))
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
    public async Task a_database_from_a_newer_build_is_refused()
    {
        var database = NewDatabase();
        await using (var store = NewStore(database)) await InitAsync(store);
        await using (var connection = await OpenAsync(database))
        await using (var bump = new MySqlCommand("UPDATE schema_version SET version = 99", connection))
            await bump.ExecuteNonQueryAsync();

        await using var newer = NewStore(database);
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => newer.InitAsync());
        Assert.Contains("99", error.Message);
    }

    [Fact]
    public async Task large_events_in_one_batch_are_split_under_the_servers_packet_limit()
    {
        // 64 events of 512 KiB each, queued at once: 32 MiB in one batch, twice max_allowed_packet's default.
        await using var store = await CreateEmptyStoreAsync();
        var authors = Enumerable.Range(0, 64).Select(i => TestEvents.Pubkey($"big {i}")).ToArray();
        var big = new string('x', 512 * 1024);
        var saves = authors.Select(a => store.SaveAsync(TestEvents.Create(a, 100, content: big), a, 0)).ToArray();

        Assert.All(await Task.WhenAll(saves), r => Assert.Equal(SaveOutcome.Saved, r.Outcome));
        Assert.Equal(64, await store.CountAsync(Filter.Everything));
        Assert.Equal(big, (await store.QueryAsync(new Filter { Authors = [authors[17]] }).SingleAsync()).Content);
    }

    [Fact]
    public async Task dispose_commits_the_writes_already_queued()
    {
        var database = NewDatabase();
        var authors = Enumerable.Range(0, 300).Select(i => TestEvents.Pubkey($"queued {i}")).ToArray();
        var store = NewStore(database);
        await InitAsync(store);
        var saves = authors.Select(a => store.SaveAsync(TestEvents.Create(a, 100), a, 0)).ToArray();
        await store.DisposeAsync();

        Assert.All(await Task.WhenAll(saves), r => Assert.Equal(SaveOutcome.Saved, r.Outcome));
        await using var reopened = NewStore(database);
        await InitAsync(reopened);
        Assert.Equal(authors.Length, await reopened.CountAsync(Filter.Everything));
    }

    [Fact]
    public async Task a_write_that_throws_fails_alone_and_the_rest_of_its_batch_commits()
    {
        var database = NewDatabase();
        await using var store = NewStore(database);
        await InitAsync(store);
        var alice = TestEvents.Pubkey("alice");
        var profile = TestEvents.Create(alice, 100, EventKind.Metadata, content: "v1");
        await store.ReplaceAsync(profile, alice, 0);
        // Damage the stored profile so that replacing it throws (its tag keys cannot be read back).
        await using (var connection = await OpenAsync(database))
        await using (var damage = new MySqlCommand("UPDATE events SET json = '{}' WHERE id = UNHEX(@id)", connection))
        {
            damage.Parameters.AddWithValue("@id", profile.Id);
            Assert.Equal(1, await damage.ExecuteNonQueryAsync());
        }

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
        var database = NewDatabase();
        await using var store = NewStore(database);
        await InitAsync(store);
        // A rule the store does not know about, checked by the server: only its writes fail.
        await using (var connection = await OpenAsync(database))
        await using (var check = new MySqlCommand("ALTER TABLE events ADD CONSTRAINT no_kind_4 CHECK (kind <> 4)", connection))
            await check.ExecuteNonQueryAsync();

        var authors = Enumerable.Range(0, 40).Select(i => TestEvents.Pubkey($"author {i}")).ToArray();
        var saves = authors.Select((a, i) => store.SaveAsync(TestEvents.Create(a, 100, kind: i == 17 ? 4 : 1), a, 0)).ToArray();

        await Assert.ThrowsAsync<MySqlException>(() => saves[17]);
        Assert.All(await Task.WhenAll(saves.Where((_, i) => i != 17)), r => Assert.Equal(SaveOutcome.Saved, r.Outcome));
        Assert.Equal(39, await store.CountAsync(Filter.Everything));
        Assert.Equal(0, await store.ReadStreamHeadAsync(authors[17]));
    }

    [Fact]
    public async Task one_letter_words_and_stop_words_are_found_as_the_relay_reads_words()
    {
        // InnoDB's own parser drops words under 3 characters and stop words; the store keeps the relay's words.
        await using var store = await CreateEmptyStoreAsync();
        var alice = TestEvents.Pubkey("alice");
        var note = TestEvents.Create(alice, 100, content: "a is the x of 日本語 — über");
        var other = TestEvents.Create(alice, 101, content: "the other one");
        await Seed.AppendAllAsync(store, [note, other]);

        Assert.Equal([note.Id], await store.QueryAsync(new Filter { Search = "x a" }).Select(e => e.Id).ToListAsync());
        Assert.Equal([note.Id], await store.QueryAsync(new Filter { Search = "日本語 über" }).Select(e => e.Id).ToListAsync());
        Assert.Equal(2, await store.CountAsync(new Filter { Search = "the" }));
    }

    public static TheoryData<string, string> CommonFilters => new()
    {
        // The filter (named for the test's name), then the index its plan must read in NIP-01 order.
        { "kinds:[1] limit:20", "events_kind" },
        { "authors:[a] limit:20", "events_pubkey" },
        { "#p:[a] limit:20", "PRIMARY" },
        { "limit:20", "events_created_at" },
    };

    /// <summary>
    /// On a table with statistics, each common shape is read from an index in NIP-01 order, so LIMIT stops the scan:
    /// no filesort over all matches, no full scan.
    /// </summary>
    [Theory]
    [MemberData(nameof(CommonFilters))]
    public async Task common_filters_are_answered_from_indexes_in_order(string filterText, string index)
    {
        var database = NewDatabase();
        await using (var store = NewStore(database)) await InitAsync(store);
        string a = new('a', 64);
        await using var connection = await OpenAsync(database);
        // 20,000 events: a quarter by author a, a quarter tagging p a, most of kind 1 (as in a real relay).
        await using (var seed = new MySqlCommand("""
            INSERT INTO events (position, id, pubkey, created_at, kind, stream, version, json)
            SELECT seq, UNHEX(SHA2(seq, 256)), CASE WHEN seq % 4 = 0 THEN UNHEX(@a) ELSE UNHEX(SHA2(seq % 997, 256)) END,
                   1700000000 + seq * 7, CASE WHEN seq % 10 < 7 THEN 1 ELSE 7 END, SHA2(seq, 256), 1, '{}'
            FROM seq_1_to_20000;
            INSERT INTO tags (name, value, created_at, id, event_position, kind, pubkey)
            SELECT 112, UNHEX(SHA2(CASE WHEN position % 4 = 1 THEN @a ELSE position END, 256)), created_at, id, position, kind, pubkey FROM events;
            ANALYZE TABLE events, tags;
            """, connection))
        {
            seed.CommandTimeout = 120;
            seed.Parameters.AddWithValue("@a", a);
            await seed.ExecuteNonQueryAsync();
        }
        var filter = filterText switch
        {
            "kinds:[1] limit:20" => new Filter { Kinds = [1], Limit = 20 },
            "authors:[a] limit:20" => new Filter { Authors = [a], Limit = 20 },
            "#p:[a] limit:20" => new Filter { Tags = [new TagFilter('p', [a])], Limit = 20 },
            _ => new Filter { Limit = 20 },
        };

        await using var command = new MySqlCommand { Connection = connection };
        MySqlFilterSql.Select(command, new MySqlSchema(database), filter, after: null, limit: 20);
        command.CommandText = "EXPLAIN " + command.CommandText;
        var plan = new List<string>();
        await using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
                plan.Add($"{reader["table"]} type={reader["type"]} key={reader["key"]} rows={reader["rows"]} extra={reader["Extra"]}");
        }

        var text = string.Join(" | ", plan);
        Assert.True(plan[0].Contains($"key={index} ", StringComparison.Ordinal), $"plan does not read {index} first: {text}");
        Assert.DoesNotContain("filesort", text, StringComparison.Ordinal);
        Assert.DoesNotContain("type=ALL", text, StringComparison.Ordinal);
    }
}
