using Microsoft.Data.Sqlite;

namespace NostrRelay.Storage.Sqlite;

/// <summary>The tables, indexes and connection settings of the event store. Every statement is idempotent.</summary>
internal static class SqliteSchema
{
    /// <summary>Bumped by each migration; stored in PRAGMA user_version.</summary>
    public const int Version = 6;

    // synchronous=FULL: a commit returns after the WAL reached the disk, so OK true means durable.
    // Checkpoints: SqliteCheckpointer copies WAL pages into the file beside the writer, so the writer's own
    //   checkpoint (wal_autocheckpoint, 4,000 pages) finds little left to copy and rarely holds up commits.
    //   The writer's checkpoint must stay: only a checkpoint that reaches the end of the WAL lets the next
    //   commit start the WAL over, and under a steady stream of commits only the writer, between two of
    //   them, reaches the end (with the writer's turned off the WAL grew to 2.6 GB at 1M events).
    // journal_size_limit: when the WAL starts over, cut the file back to 64 MiB rather than keep its peak.
    // temp_store=MEMORY keeps the sorters of ORDER BY ... LIMIT off the disk.
    // cache_size=64 MiB (the default is 2 MiB): the writer touches a page of every index per event, and with the
    //   default cache it read most of them back from the file for each batch (6.6 % of its time in pread; ingest
    //   5 % faster with this, docs/benchmarks.md).
    // mmap_size: see ReaderPragmas; the writer reads the index pages it updates the same way.
    private const string WriterPragmas = """
        PRAGMA journal_mode = WAL;
        PRAGMA synchronous = FULL;
        PRAGMA wal_autocheckpoint = 4000;
        PRAGMA journal_size_limit = 67108864;
        PRAGMA busy_timeout = 5000;
        PRAGMA temp_store = MEMORY;
        PRAGMA cache_size = -65536;
        PRAGMA mmap_size = 1073741824;
        """;

    /// <summary>
    /// Run on every reader connection when it is opened (the setting is per connection; see SqliteReaders). Pages of the first
    /// GiB of the file are read through a memory map instead of a read() into each connection's own page cache: no
    /// system call and no copy per page, and one copy in memory for all connections. Queries ran 10 % faster with it
    /// (docs/benchmarks.md). SQLite maps for reading only and writes through write() as before; past the map (or its
    /// build's cap) pages are read as without it.
    /// </summary>
    public const string ReaderPragmas = "PRAGMA mmap_size = 1073741824;";

    // position: AUTOINCREMENT, so a deleted event's position is never handed out again (bookmarks rely on it).
    // address: set for replaceable and addressable events only; the partial index skips regular events.
    // tags: one row per tag with a one-letter name (NIP-01 filterable), keyed for "#x" filters in NIP-01
    //   order, so the key is the index; WITHOUT ROWID keeps it one b-tree. Rows are deleted with their event
    //   by key (the event's JSON says which), which spares an index on event_position.
    // streams: the head survives deletes, so a stream version is never reused.
    // expirations (version 2): one row per event with a NIP-40 expiration, so the purge reads what is due in
    //   order and never scans the events; deleted by key with its event, like the tags.
    // search (version 3): NIP-50's FTS5 index, keyed by the event's position (rowid), holding the content's words as
    //   SearchQuery reads them (so the index, the query and live matching agree on what a word is: the 'ascii'
    //   tokenizer splits only at ASCII separators, so it takes the space-joined words as they are, where unicode61
    //   would split some of them again); contentless, as the JSON has the text, with contentless_delete so a deleted
    //   event's row goes with it. Full detail: with detail=none or column, bm25 no longer puts a short note with the
    //   words before a long one that mentions them in passing.
    // search_progress (version 4): one row, the position up to which every event is in the search index; the
    //   index is written behind the events, a thousand at a time (SqliteSearchIndex).
    // Keys (version 5): id, pubkey, stream, streams.stream and tags.value hold a value of 64 lowercase hex digits as
    //   its 32 bytes (SqliteKey); the columns keep their declared TEXT, whose affinity leaves a BLOB as it is.
    // tags.kind (version 6): the event's kind beside each tag row, outside the key, so a kinds condition beside a tag
    //   one (a pubkey's replies among its reactions, a note's reactions) is checked on the tag rows and only the events
    //   that match are looked up, and a COUNT of kinds and one tag condition reads the tag index alone.
    // events_pubkey ends with kind (version 6) for the same reason: an author's notes among their reactions, or the few
    //   articles of an author with a hundred thousand notes, are told apart on the index entries, never by each row.
    private const string Tables = """
        CREATE TABLE IF NOT EXISTS events (
            position   INTEGER PRIMARY KEY AUTOINCREMENT,
            id         TEXT    NOT NULL UNIQUE,
            pubkey     TEXT    NOT NULL,
            created_at INTEGER NOT NULL,
            kind       INTEGER NOT NULL,
            stream     TEXT    NOT NULL,
            version    INTEGER NOT NULL,
            address    TEXT,
            json       BLOB    NOT NULL,
            UNIQUE (stream, version)
        );
        CREATE INDEX IF NOT EXISTS events_created_at ON events (created_at DESC, id);
        CREATE INDEX IF NOT EXISTS events_pubkey ON events (pubkey, created_at DESC, kind);
        CREATE INDEX IF NOT EXISTS events_kind ON events (kind, created_at DESC);
        CREATE INDEX IF NOT EXISTS events_address ON events (address) WHERE address IS NOT NULL;
        CREATE TABLE IF NOT EXISTS tags (
            name           TEXT    NOT NULL,
            value          TEXT    NOT NULL,
            created_at     INTEGER NOT NULL,
            event_position INTEGER NOT NULL,
            kind           INTEGER NOT NULL,
            PRIMARY KEY (name, value, created_at DESC, event_position)
        ) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS streams (
            stream  TEXT    NOT NULL PRIMARY KEY,
            version INTEGER NOT NULL
        ) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS expirations (
            expires_at     INTEGER NOT NULL,
            event_position INTEGER NOT NULL,
            PRIMARY KEY (expires_at, event_position)
        ) WITHOUT ROWID;
        CREATE VIRTUAL TABLE IF NOT EXISTS search USING fts5 (
            words, content = '', contentless_delete = 1, tokenize = 'ascii'
        );
        CREATE TABLE IF NOT EXISTS search_progress (
            indexed_through INTEGER NOT NULL
        );
        """;

    /// <summary>
    /// Version 1 had no expiration index: fill it once, when a version 1 file is opened, from the stored events that
    /// hold the word, each read as the relay reads it (<see cref="NostrRelay.Protocol.NostrEvent.Expiration"/>).
    /// </summary>
    private static void IndexExpirations(SqliteConnection writer, SqliteTransaction transaction)
    {
        var expiring = new List<(long At, long Position)>();
        using (var read = writer.CreateCommand())
        {
            read.Transaction = transaction;
            read.CommandText = "SELECT position, json FROM events WHERE instr(json, CAST('\"expiration\"' AS BLOB)) > 0;";
            using var reader = read.ExecuteReader();
            while (reader.Read())
            {
                if (NostrRelay.Protocol.EventReader.ParseStored(reader.GetFieldValue<byte[]>(1)).Expiration is { } expiresAt)
                    expiring.Add((expiresAt, reader.GetInt64(0)));
            }
        }
        using var insert = writer.CreateCommand();
        insert.Transaction = transaction;
        insert.CommandText = "INSERT OR IGNORE INTO expirations (expires_at, event_position) VALUES ($at, $position);";
        var atParameter = insert.Parameters.Add("$at", SqliteType.Integer);
        var positionParameter = insert.Parameters.Add("$position", SqliteType.Integer);
        foreach (var (expiresAt, eventPosition) in expiring)
        {
            atParameter.Value = expiresAt;
            positionParameter.Value = eventPosition;
            insert.ExecuteNonQuery();
        }
    }

    /// <summary>Versions 1 and 2 had no search index: fill it once, from every stored event's content.</summary>
    private static void IndexWords(SqliteConnection writer, SqliteTransaction transaction)
    {
        using var read = writer.CreateCommand();
        read.Transaction = transaction;
        read.CommandText = "SELECT position, json FROM events;";
        using var insert = writer.CreateCommand();
        insert.Transaction = transaction;
        insert.CommandText = "INSERT INTO search (rowid, words) VALUES ($position, $words);";
        var positionParameter = insert.Parameters.Add("$position", SqliteType.Integer);
        var wordsParameter = insert.Parameters.Add("$words", SqliteType.Text);
        using var reader = read.ExecuteReader();
        while (reader.Read())
        {
            string words;
            try
            {
                words = NostrRelay.Protocol.SearchQuery.IndexText(NostrRelay.Protocol.EventReader.ParseStored(reader.GetFieldValue<byte[]>(1)).Content);
            }
            catch (Exception ex) when (ex is System.Text.Json.JsonException or FormatException or InvalidOperationException)
            {
                continue;   // an unreadable row is not searchable; it must not keep the store from opening
            }
            if (words.Length == 0) continue;
            positionParameter.Value = reader.GetInt64(0);
            wordsParameter.Value = words;
            insert.ExecuteNonQuery();
        }
    }

    /// <summary>Up to version 4 every key was its text: keep the hex ones as bytes, as this version writes them.</summary>
    private static void StoreKeysAsBytes(SqliteConnection writer, SqliteTransaction transaction)
    {
        static string Key(string column) => $"{column} = {SqliteKey.InSql(column)}";
        Execute(writer, $"""
            UPDATE events SET {Key("id")}, {Key("pubkey")}, {Key("stream")};
            UPDATE streams SET {Key("stream")} WHERE {SqliteKey.IsHexSql("stream")};
            UPDATE tags SET {Key("value")} WHERE {SqliteKey.IsHexSql("value")};
            """, transaction);
    }

    /// <summary>
    /// Up to version 5 the tag rows had no kind: each takes its event's. The column is added first unless the file already
    /// has it. A row whose event is gone (none should be) gets -1, which no kinds condition names. The author index is
    /// built again with the kind at its end.
    /// </summary>
    private static void KeepKindsInIndexes(SqliteConnection writer, SqliteTransaction transaction)
    {
        using (var has = writer.CreateCommand())
        {
            has.Transaction = transaction;
            has.CommandText = "SELECT count(*) FROM pragma_table_info('tags') WHERE name = 'kind';";
            if (Convert.ToInt64(has.ExecuteScalar()) == 0)
                Execute(writer, "ALTER TABLE tags ADD COLUMN kind INTEGER NOT NULL DEFAULT -1;", transaction);
        }
        Execute(writer, "UPDATE tags SET kind = coalesce((SELECT kind FROM events WHERE position = tags.event_position), -1);", transaction);
        Execute(writer, "DROP INDEX events_pubkey; CREATE INDEX events_pubkey ON events (pubkey, created_at DESC, kind);", transaction);
    }

    /// <summary>Sets the writer's connection up and creates or migrates the schema.</summary>
    /// <param name="migrate">
    /// False for a tool reading beside the running relay: an older file is refused rather than converted under a relay
    /// that would go on writing it the old way.
    /// </param>
    public static void Apply(SqliteConnection writer, bool migrate = true)
    {
        Execute(writer, WriterPragmas);
        using var transaction = writer.BeginTransaction();
        int current;
        using (var read = writer.CreateCommand())
        {
            read.Transaction = transaction;
            read.CommandText = "PRAGMA user_version;";
            current = Convert.ToInt32(read.ExecuteScalar());
            if (current > Version)
                throw new InvalidOperationException($"the database has schema version {current}; this build knows up to {Version}");
            if (!migrate && current is > 0 and < Version)
                throw new InvalidOperationException(
                    $"the database has schema version {current}, older than this build's {Version}; start this build's relay on it once to convert it, then run this again");
        }
        Execute(writer, Tables, transaction);
        if (current == 1) IndexExpirations(writer, transaction);
        if (current is 1 or 2) IndexWords(writer, transaction);
        if (current is >= 1 and < 5) StoreKeysAsBytes(writer, transaction);
        if (current is >= 1 and < 6) KeepKindsInIndexes(writer, transaction);
        // Up to version 3 every event was indexed in its own write batch; a new file has none yet.
        if (current < 4) Execute(writer, "INSERT INTO search_progress (indexed_through) SELECT coalesce(max(position), 0) FROM events;", transaction);
        if (current != Version) Execute(writer, $"PRAGMA user_version = {Version};", transaction);   // a tool reading beside the relay writes nothing
        transaction.Commit();
    }

    private static void Execute(SqliteConnection connection, string sql, SqliteTransaction? transaction = null)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}
