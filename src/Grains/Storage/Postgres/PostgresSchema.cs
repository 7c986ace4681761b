using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Npgsql;

namespace NostrRelay.Storage.Postgres;

/// <summary>
/// The store's tables in one PostgreSQL schema, their qualified names, and the advisory lock keys that belong
/// to that schema. Every DDL statement is idempotent.
/// </summary>
internal sealed class PostgresSchema
{
    /// <summary>Bumped by each migration; stored in the schema_version table.</summary>
    public const int Version = 4;

    /// <summary>
    /// The kind of a tag row written without one: by a silo of an older build still running on the schema during a rolling
    /// upgrade, whose insert names no kind (the column's default, so that insert still succeeds). Reads then check the
    /// event's kind instead.
    /// </summary>
    public const int UnknownKind = -1;

    // Advisory lock keys are (class, object) pairs: the class says what is locked, the object which schema.
    // Stores on other schemas of the same database never wait for each other.
    private const int SequencerLockClass = 0x4E_52_53_51;   // "NRSQ"
    private const int DdlLockClass = 0x4E_52_44_4C;         // "NRDL"

    public PostgresSchema(string name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        if (Encoding.UTF8.GetByteCount(name) > 63) throw new ArgumentException("a PostgreSQL schema name has at most 63 bytes", nameof(name));
        Name = name;
        var quoted = "\"" + name.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
        Quoted = quoted;
        Events = quoted + ".events";
        Tags = quoted + ".tags";
        Streams = quoted + ".streams";
        Expirations = quoted + ".expirations";
        Words = quoted + ".words";
        var objectKey = BinaryPrimitives.ReadInt32BigEndian(SHA256.HashData(Encoding.UTF8.GetBytes(name)));
        TakeSequencerLock = $"SELECT pg_advisory_xact_lock({SequencerLockClass}, {objectKey})";
        _takeDdlLock = $"SELECT pg_advisory_xact_lock({DdlLockClass}, {objectKey})";
    }

    public string Name { get; }
    public string Quoted { get; }
    public string Events { get; }
    public string Tags { get; }
    public string Streams { get; }

    /// <summary>NIP-40: (expires_at, event_position) for every event with an expiration (store version 2).</summary>
    public string Expirations { get; }

    /// <summary>NIP-50: (event_position, tsvector of the content's words) for every event with words (store version 3).</summary>
    public string Words { get; }

    /// <summary>
    /// The single sequencer: every writing transaction runs this before it draws a position and holds the lock
    /// until COMMIT. See <see cref="PostgresWriter"/> for why and what it costs.
    /// </summary>
    public string TakeSequencerLock { get; }

    private readonly string _takeDdlLock;

    // position: an identity (a sequence) with CACHE 1, the default. A larger cache would let each session hand
    //   out its own block of positions, which breaks the sequencer's promise that positions commit in order.
    //   Sequence values are never handed out twice, so a deleted event's position is never reused.
    // Text columns use the "C" collation: ids sort by bytes (NIP-01 ties: lowest id first) and compare fast.
    //   Only hex and stream names go in text: PostgreSQL text cannot hold U+0000, which a JSON string can.
    // address: set for replaceable and addressable events only, as UTF-8 bytes (the d tag is any string); the
    //   partial index skips regular events.
    // tags: one row per tag with a one-letter name (NIP-01 filterable), keyed for "#x" filters in NIP-01 order:
    //   a backward scan of the key gives one value's events newest first, so LIMIT stops early. name is the
    //   letter's UTF-16 code (ascii('p') by hand). value is the SHA-256 of the tag's value: a fixed 32-byte key
    //   whatever the value's length (a B-tree entry is limited to ~2.7 kB, and a value is not), shorter than a
    //   hex id as text; by hand, value = sha256(convert_to('...', 'UTF8')). Rows are deleted with their event
    //   by key (the event's JSON says which), which spares an index on event_position. kind (version 4): the event's,
    //   carried in the key's index (INCLUDE), so a kinds condition beside a tag one is checked on the index entries
    //   (an index-only scan) and an event of another kind is never fetched, and a COUNT of kinds and one tag condition
    //   reads that index alone. Its default (UnknownKind) is for the inserts of older builds during a rolling upgrade.
    // streams: the head survives deletes, so a stream version is never reused.
    // words (version 3): NIP-50's full-text index, one row per event with words in its content, as SearchQuery reads
    //   them, each made a lexeme as it is (array_to_tsvector: no parser, no stemming, no stop words, so the index, the
    //   query and live matching agree on what a word is); a GIN index answers "@@". Apart from the events, so older
    //   stores gain it without rewriting their events table.
    private string Tables => $"""
        CREATE SCHEMA IF NOT EXISTS {Quoted};
        CREATE TABLE IF NOT EXISTS {Events} (
            position   bigint  GENERATED ALWAYS AS IDENTITY (CACHE 1) PRIMARY KEY,
            id         text    COLLATE "C" NOT NULL UNIQUE,
            pubkey     text    COLLATE "C" NOT NULL,
            created_at bigint  NOT NULL,
            kind       integer NOT NULL,
            stream     text    COLLATE "C" NOT NULL,
            version    bigint  NOT NULL,
            address    bytea,
            json       bytea   NOT NULL,
            UNIQUE (stream, version)
        );
        CREATE INDEX IF NOT EXISTS events_created_at ON {Events} (created_at DESC, id);
        CREATE INDEX IF NOT EXISTS events_pubkey ON {Events} (pubkey, created_at DESC);
        CREATE INDEX IF NOT EXISTS events_kind ON {Events} (kind, created_at DESC);
        CREATE INDEX IF NOT EXISTS events_address ON {Events} (address) WHERE address IS NOT NULL;
        CREATE TABLE IF NOT EXISTS {Tags} (
            name           integer NOT NULL,
            value          bytea   NOT NULL,
            created_at     bigint  NOT NULL,
            event_position bigint  NOT NULL,
            kind           integer NOT NULL DEFAULT {UnknownKind},
            PRIMARY KEY (name, value, created_at, event_position) INCLUDE (kind)
        );
        CREATE TABLE IF NOT EXISTS {Streams} (
            stream  text   COLLATE "C" NOT NULL PRIMARY KEY,
            version bigint NOT NULL
        );
        CREATE TABLE IF NOT EXISTS {Expirations} (
            expires_at     bigint NOT NULL,
            event_position bigint NOT NULL,
            PRIMARY KEY (expires_at, event_position)
        );
        CREATE TABLE IF NOT EXISTS {Words} (
            event_position bigint   NOT NULL PRIMARY KEY,
            words          tsvector NOT NULL
        );
        CREATE TABLE IF NOT EXISTS {Quoted}.schema_version (version integer NOT NULL);
        """;

    /// <summary>
    /// Creates or migrates the schema. Under an advisory lock, so two silos starting at once do not race on
    /// CREATE ... IF NOT EXISTS (which is not safe against itself); a schema already at this version is left
    /// alone, so starting a silo takes no table lock that would hold up the writers of running ones.
    /// </summary>
    /// <returns>True when DDL ran.</returns>
    public async Task<bool> ApplyAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await ExecuteAsync(connection, _takeDdlLock, cancellationToken).ConfigureAwait(false);
        var current = await ReadVersionAsync(connection, cancellationToken).ConfigureAwait(false);
        if (current > Version)
            throw new InvalidOperationException($"schema {Name} has store version {current}; this build knows up to {Version}");
        if (current == Version)
        {
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            return false;
        }
        // The writers' sequencer lock before any table lock: a silo of an older build still writing on the schema takes it
        // first in each of its transactions, so it waits here holding nothing, where it would otherwise hold the tags it
        // read while this waited for them, and this the events it indexed while it waited for those (a deadlock).
        await ExecuteAsync(connection, TakeSequencerLock, cancellationToken).ConfigureAwait(false);
        await ExecuteAsync(connection, Tables, cancellationToken).ConfigureAwait(false);
        if (current == 1) await IndexExpirationsAsync(connection, cancellationToken).ConfigureAwait(false);
        if (current is 1 or 2) await IndexWordsAsync(connection, cancellationToken).ConfigureAwait(false);
        if (current is >= 1 and < 4) await ExecuteAsync(connection, GiveTagsTheirKind, cancellationToken).ConfigureAwait(false);
        // After the fill: building a GIN index once is far faster than growing it row by row.
        await ExecuteAsync(connection, $"CREATE INDEX IF NOT EXISTS words_search ON {Words} USING gin (words);", cancellationToken).ConfigureAwait(false);
        await ExecuteAsync(connection, $"DELETE FROM {Quoted}.schema_version; INSERT INTO {Quoted}.schema_version VALUES ({Version});", cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return true;
    }

    /// <summary>
    /// Up to version 3 the tag rows had no kind: each takes its event's (a row whose event is gone, none should be, goes),
    /// and the key's index is built again with the kind in it. Each step holds whether or not the schema already has it.
    /// </summary>
    private string GiveTagsTheirKind => $"""
        ALTER TABLE {Tags} ADD COLUMN IF NOT EXISTS kind integer;
        UPDATE {Tags} t SET kind = e.kind FROM {Events} e WHERE e.position = t.event_position AND t.kind IS NULL;
        DELETE FROM {Tags} WHERE kind IS NULL;
        ALTER TABLE {Tags} ALTER COLUMN kind SET DEFAULT {UnknownKind}, ALTER COLUMN kind SET NOT NULL;
        ALTER TABLE {Tags} DROP CONSTRAINT tags_pkey, ADD CONSTRAINT tags_pkey PRIMARY KEY (name, value, created_at, event_position) INCLUDE (kind);
        """;

    /// <summary>
    /// Version 1 had no expiration index: fill it once, page by page, from the stored events that hold the word, each
    /// read as the relay reads it (<see cref="NostrRelay.Protocol.NostrEvent.Expiration"/>), never through jsonb, which
    /// refuses JSON that a relay stores (a \u0000 in a string).
    /// </summary>
    private async Task IndexExpirationsAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        const int Page = 1_000;
        long after = 0;
        while (true)
        {
            var ats = new List<long>();
            var positions = new List<long>();
            var read = 0;
            await using (var select = new NpgsqlCommand(
                $"SELECT position, json FROM {Events} WHERE position > $1 AND position(convert_to('\"expiration\"', 'UTF8') IN json) > 0 ORDER BY position LIMIT {Page}",
                connection))
            {
                select.Parameters.Add(new NpgsqlParameter<long> { TypedValue = after });
                await using var reader = await select.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    read++;
                    after = reader.GetInt64(0);
                    if (NostrRelay.Protocol.EventReader.ParseStored(reader.GetFieldValue<byte[]>(1)).Expiration is { } at)
                    {
                        ats.Add(at);
                        positions.Add(after);
                    }
                }
            }
            if (ats.Count > 0)
            {
                await using var insert = new NpgsqlCommand(
                    $"INSERT INTO {Expirations} (expires_at, event_position) SELECT * FROM unnest($1::bigint[], $2::bigint[]) ON CONFLICT DO NOTHING",
                    connection);
                insert.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = [.. ats] });
                insert.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = [.. positions] });
                await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }
            if (read < Page) return;
        }
    }

    /// <summary>Versions 1 and 2 had no search index: fill it once, page by page, from every stored event's content.</summary>
    private async Task IndexWordsAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        const int Page = 1_000;
        long after = 0;
        while (true)
        {
            var positions = new List<long>();
            var words = new List<string>();
            var read = 0;
            await using (var select = new NpgsqlCommand($"SELECT position, json FROM {Events} WHERE position > $1 ORDER BY position LIMIT {Page}", connection))
            {
                select.Parameters.Add(new NpgsqlParameter<long> { TypedValue = after });
                await using var reader = await select.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    read++;
                    after = reader.GetInt64(0);
                    string text;
                    try
                    {
                        text = NostrRelay.Protocol.SearchQuery.IndexText(NostrRelay.Protocol.EventReader.ParseStored(reader.GetFieldValue<byte[]>(1)).Content, distinct: true);
                    }
                    catch (Exception ex) when (ex is System.Text.Json.JsonException or FormatException or InvalidOperationException)
                    {
                        continue;   // an unreadable row is not searchable; it must not keep the store from opening
                    }
                    if (text.Length == 0) continue;
                    positions.Add(after);
                    words.Add(text);
                }
            }
            if (positions.Count > 0)
            {
                await using var insert = new NpgsqlCommand(
                    $"INSERT INTO {Words} (event_position, words) SELECT p, array_to_tsvector(string_to_array(w, ' ')) FROM unnest($1::bigint[], $2::text[]) AS u (p, w) ON CONFLICT DO NOTHING",
                    connection);
                insert.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = [.. positions] });
                insert.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. words] });
                await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }
            if (read < Page) return;
        }
    }

    /// <summary>The stored version; 0 when the schema or its version table does not exist yet.</summary>
    private async Task<int> ReadVersionAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        await using (var exists = new NpgsqlCommand("SELECT to_regclass($1) IS NOT NULL", connection))
        {
            exists.Parameters.Add(new NpgsqlParameter<string> { TypedValue = Quoted + ".schema_version" });
            if (!(bool)(await exists.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!) return 0;
        }
        await using var read = new NpgsqlCommand($"SELECT max(version) FROM {Quoted}.schema_version", connection);
        return await read.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is int version ? version : 0;
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }
}
