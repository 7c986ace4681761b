using Microsoft.Data.Sqlite;

namespace NostrRelay.Storage.Sqlite;

/// <summary>The tables, indexes and connection settings of the event store. Every statement is idempotent.</summary>
internal static class SqliteSchema
{
    /// <summary>Bumped by each migration; stored in PRAGMA user_version.</summary>
    public const int Version = 2;

    // synchronous=FULL: a commit returns after the WAL reached the disk, so OK true means durable.
    // Checkpoints: SqliteCheckpointer copies WAL pages into the file beside the writer, so the writer's own
    //   checkpoint (wal_autocheckpoint, 4,000 pages) finds little left to copy and rarely holds up commits.
    //   The writer's checkpoint must stay: only a checkpoint that reaches the end of the WAL lets the next
    //   commit start the WAL over, and under a steady stream of commits only the writer, between two of
    //   them, reaches the end (with the writer's turned off the WAL grew to 2.6 GB at 1M events).
    // journal_size_limit: when the WAL starts over, cut the file back to 64 MiB rather than keep its peak.
    // temp_store=MEMORY keeps the sorters of ORDER BY ... LIMIT off the disk.
    private const string WriterPragmas = """
        PRAGMA journal_mode = WAL;
        PRAGMA synchronous = FULL;
        PRAGMA wal_autocheckpoint = 4000;
        PRAGMA journal_size_limit = 67108864;
        PRAGMA busy_timeout = 5000;
        PRAGMA temp_store = MEMORY;
        """;

    // position: AUTOINCREMENT, so a deleted event's position is never handed out again (bookmarks rely on it).
    // address: set for replaceable and addressable events only; the partial index skips regular events.
    // tags: one row per tag with a one-letter name (NIP-01 filterable), keyed for "#x" filters in NIP-01
    //   order, so the key is the index; WITHOUT ROWID keeps it one b-tree. Rows are deleted with their event
    //   by key (the event's JSON says which), which spares an index on event_position.
    // streams: the head survives deletes, so a stream version is never reused.
    // expirations (version 2): one row per event with a NIP-40 expiration, so the purge reads what is due in
    //   order and never scans the events; deleted by key with its event, like the tags.
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
        CREATE INDEX IF NOT EXISTS events_pubkey ON events (pubkey, created_at DESC);
        CREATE INDEX IF NOT EXISTS events_kind ON events (kind, created_at DESC);
        CREATE INDEX IF NOT EXISTS events_address ON events (address) WHERE address IS NOT NULL;
        CREATE TABLE IF NOT EXISTS tags (
            name           TEXT    NOT NULL,
            value          TEXT    NOT NULL,
            created_at     INTEGER NOT NULL,
            event_position INTEGER NOT NULL,
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
        """;

    /// <summary>
    /// Version 1 had no expiration index: fill it from the stored events' first <c>expiration</c> tag (digits only,
    /// as the relay reads it), once, when a version 1 file is opened.
    /// </summary>
    private const string IndexExpirations = """
        INSERT OR IGNORE INTO expirations (expires_at, event_position)
        SELECT CAST(json_extract(tag.value, '$[1]') AS INTEGER), events.position
        FROM events, json_each(CAST(events.json AS TEXT), '$.tags') AS tag
        WHERE CAST(events.json AS TEXT) LIKE '%"expiration"%'
          AND json_extract(tag.value, '$[0]') = 'expiration'
          AND json_extract(tag.value, '$[1]') GLOB '[0-9]*'
          AND NOT json_extract(tag.value, '$[1]') GLOB '*[^0-9]*'
          AND tag.key = (SELECT min(first.key) FROM json_each(CAST(events.json AS TEXT), '$.tags') AS first
                         WHERE json_extract(first.value, '$[0]') = 'expiration');
        """;

    /// <summary>Sets the writer's connection up and creates or migrates the schema.</summary>
    public static void Apply(SqliteConnection writer)
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
        }
        Execute(writer, Tables, transaction);
        if (current == 1) Execute(writer, IndexExpirations, transaction);
        Execute(writer, $"PRAGMA user_version = {Version};", transaction);
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
