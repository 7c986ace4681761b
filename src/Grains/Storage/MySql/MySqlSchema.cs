using MySqlConnector;

namespace NostrRelay.Storage.MySql;

/// <summary>
/// The store's tables in one MariaDB (or MySQL 8) database, and the statements that create them. Every DDL
/// statement is idempotent; a database already at this version is left alone.
/// </summary>
internal sealed class MySqlSchema
{
    /// <summary>Bumped by each migration; stored in the schema_version table.</summary>
    public const int Version = 1;

    public MySqlSchema(string database)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(database);
        if (database.Length > 64) throw new ArgumentException("a MariaDB database name has at most 64 characters", nameof(database));
        Name = database;
        Quoted = "`" + database.Replace("`", "``", StringComparison.Ordinal) + "`";
    }

    public string Name { get; }

    /// <summary>The database name as an identifier.</summary>
    public string Quoted { get; }

    // Ids, pubkeys, tag values and addresses are 32-byte keys (hex decoded, or SHA-256 of a string of any length):
    //   binary compares without collations, and a binary parameter compared with a binary column keeps the index
    //   (a utf8mb4 parameter against an ascii column does not). Lowercase hex sorts as its bytes, so NIP-01's "lowest
    //   id first" is the byte order.
    // position: drawn by the writer from log_position (see MySqlWriter), not AUTO_INCREMENT, which hands out values
    //   at insert and lets a later commit show a lower one.
    // Indexes are (..., created_at DESC, id): MariaDB 10.8+ reads them in NIP-01 order, so ORDER BY ... LIMIT stops
    //   after a page with no sort. tags keeps the event's id, kind and pubkey too, so a tag condition with others on
    //   kinds, authors and times is decided in that order from the tags key alone (as RocksDb's index values do), and
    //   events are joined by position only for the rows returned: an event row holds its JSON, and reading a thousand
    //   of them to find twenty of one kind is what made a tag filter slow.
    // stream: UTF-8 bytes of the stream name (an author's pubkey in hex), at most 1,024 bytes.
    // words: NIP-50's index. InnoDB's full-text parser has its own idea of a word (at least 3 characters, stop words,
    //   punctuation); to keep the relay's own (SearchQuery), each word is stored as a token of hex of its hash, which the
    //   parser takes as it is. Ranking happens in the relay, as for the stores without an engine.
    public string Tables => $"""
        CREATE TABLE IF NOT EXISTS {Quoted}.events (
            position   BIGINT NOT NULL PRIMARY KEY,
            id         BINARY(32) NOT NULL,
            pubkey     BINARY(32) NOT NULL,
            created_at BIGINT NOT NULL,
            kind       INT NOT NULL,
            stream     VARBINARY(1024) NOT NULL,
            version    BIGINT NOT NULL,
            address    BINARY(32) NULL,
            json       LONGBLOB NOT NULL,
            UNIQUE KEY events_id (id),
            UNIQUE KEY events_stream (stream, version),
            KEY events_created_at (created_at DESC, id),
            KEY events_pubkey (pubkey, created_at DESC, id),
            KEY events_kind (kind, created_at DESC, id),
            KEY events_address (address)
        ) ENGINE=InnoDB;
        CREATE TABLE IF NOT EXISTS {Quoted}.tags (
            name           INT NOT NULL,
            value          BINARY(32) NOT NULL,
            created_at     BIGINT NOT NULL,
            id             BINARY(32) NOT NULL,
            event_position BIGINT NOT NULL,
            kind           INT NOT NULL,
            pubkey         BINARY(32) NOT NULL,
            PRIMARY KEY (name, value, created_at DESC, id)
        ) ENGINE=InnoDB;
        CREATE TABLE IF NOT EXISTS {Quoted}.streams (
            stream  VARBINARY(1024) NOT NULL PRIMARY KEY,
            version BIGINT NOT NULL
        ) ENGINE=InnoDB;
        CREATE TABLE IF NOT EXISTS {Quoted}.expirations (
            expires_at     BIGINT NOT NULL,
            event_position BIGINT NOT NULL,
            PRIMARY KEY (expires_at, event_position)
        ) ENGINE=InnoDB;
        CREATE TABLE IF NOT EXISTS {Quoted}.words (
            event_position BIGINT NOT NULL PRIMARY KEY,
            words          MEDIUMTEXT CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
            FULLTEXT KEY words_search (words)
        ) ENGINE=InnoDB;
        CREATE TABLE IF NOT EXISTS {Quoted}.log_position (
            id   TINYINT NOT NULL PRIMARY KEY,
            last BIGINT NOT NULL
        ) ENGINE=InnoDB;
        INSERT IGNORE INTO {Quoted}.log_position (id, last) VALUES (1, 0);
        CREATE TABLE IF NOT EXISTS {Quoted}.schema_version (version INT NOT NULL) ENGINE=InnoDB;
        """;

    /// <summary>
    /// Creates or migrates the database, under a named lock so that silos starting at once do not race; a database
    /// already at this version is left alone. The connection must not have a default database yet.
    /// </summary>
    /// <returns>True when DDL ran.</returns>
    public async Task<bool> ApplyAsync(MySqlConnection connection, CancellationToken cancellationToken)
    {
        var lockName = "nostr-relay-ddl:" + Name;
        await using (var take = new MySqlCommand("SELECT GET_LOCK(@name, 120)", connection) { CommandTimeout = 130 })
        {
            take.Parameters.AddWithValue("@name", lockName);
            if (await take.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is not (1 or 1L))
                throw new TimeoutException($"another process held the schema lock of database {Name} for 2 minutes");
        }
        try
        {
            await ExecuteAsync(connection, $"CREATE DATABASE IF NOT EXISTS {Quoted} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin", cancellationToken).ConfigureAwait(false);
            var current = await ReadVersionAsync(connection, cancellationToken).ConfigureAwait(false);
            if (current > Version)
                throw new InvalidOperationException($"database {Name} has store version {current}; this build knows up to {Version}");
            if (current == Version) return false;
            await ExecuteAsync(connection, Tables, cancellationToken).ConfigureAwait(false);
            await ExecuteAsync(connection, $"DELETE FROM {Quoted}.schema_version; INSERT INTO {Quoted}.schema_version VALUES ({Version});", cancellationToken).ConfigureAwait(false);
            return true;
        }
        finally
        {
            await using var release = new MySqlCommand("SELECT RELEASE_LOCK(@name)", connection);
            release.Parameters.AddWithValue("@name", lockName);
            await release.ExecuteScalarAsync(CancellationToken.None).ConfigureAwait(false);
        }
    }

    /// <summary>The stored version; 0 when the version table does not exist yet.</summary>
    private async Task<int> ReadVersionAsync(MySqlConnection connection, CancellationToken cancellationToken)
    {
        await using (var exists = new MySqlCommand(
            "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = @database AND table_name = 'schema_version'", connection))
        {
            exists.Parameters.AddWithValue("@database", Name);
            if (Convert.ToInt64(await exists.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false), System.Globalization.CultureInfo.InvariantCulture) == 0) return 0;
        }
        await using var read = new MySqlCommand($"SELECT MAX(version) FROM {Quoted}.schema_version", connection);
        return await read.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is int version ? version : 0;
    }

    private static async Task ExecuteAsync(MySqlConnection connection, string sql, CancellationToken cancellationToken)
    {
        // DDL on a large table can take longer than the default 30 s.
        await using var command = new MySqlCommand(sql, connection) { CommandTimeout = 0 };
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }
}
