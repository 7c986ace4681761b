using System.Text;
using Npgsql;
using NpgsqlTypes;
using NostrRelay.Protocol;
using NostrRelay.Storage.Sql;
using NostrRelay.Storage.Writing;

namespace NostrRelay.Storage.Postgres;

/// <summary>
/// A run of queued writes that touch no id, stream or address twice, done in two round trips inside the
/// batch transaction: one reads every row the writes need (by id, by address, stream heads), then each write
/// decides in memory in queue order, then one applies all their changes with set statements (unnest of
/// arrays). <see cref="IWriteTransaction"/> in PostgreSQL. Reused by the writer: <see cref="Clear"/> starts the next round.
/// </summary>
internal sealed class WriteRound : ReadAheadRound
{
    private readonly string _readById, _readByAddress, _readHeads, _readDeletionRequests, _insert, _deleteTags, _deleteEvents, _deleteWords, _writeHeads, _deleteExpirations;

    private readonly List<Insertion> _inserts = [];
    private readonly List<string> _tagEventIds = [];
    private readonly List<int> _tagNames = [];
    private readonly List<byte[]> _tagValues = [];
    private readonly List<int> _removedTagNames = [];
    private readonly List<byte[]> _removedTagValues = [];
    private readonly List<long> _removedTagCreatedAt = [], _removedTagPositions = [];
    private readonly List<long> _removedPositions = [];
    private readonly List<long> _removedExpiresAt = [], _removedExpiringPositions = [];
    private readonly List<string> _expiringIds = [];
    private readonly List<long> _expiringAt = [];
    private readonly Dictionary<string, long> _newHeads = new(StringComparer.Ordinal);

    public WriteRound(PostgresSchema schema)
    {
        _readById = $"SELECT position, id, created_at, address, json FROM {schema.Events} WHERE id = ANY($1)";
        _readByAddress = $"SELECT position, id, created_at, address, json FROM {schema.Events} WHERE address = ANY($1)";
        _readHeads = $"SELECT stream, version FROM {schema.Streams} WHERE stream = ANY($1)";
        // The tag rows of the probed values first (one branch per letter, each value a range of the tags key), then
        // each one's event by its key, fenced (OFFSET 0) so the planner cannot turn it around, and "kind + 0" so it
        // cannot take the kind index for that key lookup either. A prepared statement
        // runs on a generic plan, and any plan that starts from "kind = 5" reads every deletion request on every
        // round: with "value = ANY($1)" once one e value was very common (a popular note's reactions), and with a
        // plain join whenever stale statistics put the kind 5 events at one row (232 ms a round at 3,000 requests).
        // Each value's probe is fenced the same way: a plan made while the table was small, joining the values to
        // every row of the letter, read all of a new store's e tags on every round until the next ANALYZE
        // (about 220 index entries per event written over a store's first 20,000).
        _readDeletionRequests = $"""
            WITH hits AS MATERIALIZED (
                SELECT t.name, t.value, t.event_position FROM unnest($1::bytea[]) AS v (value) CROSS JOIN LATERAL (
                    SELECT name, value, event_position FROM {schema.Tags} WHERE name = {TagKeys.Name('e')} AND value = v.value OFFSET 0) t
                UNION ALL
                SELECT t.name, t.value, t.event_position FROM unnest($2::bytea[]) AS v (value) CROSS JOIN LATERAL (
                    SELECT name, value, event_position FROM {schema.Tags} WHERE name = {TagKeys.Name('a')} AND value = v.value OFFSET 0) t)
            SELECT h.name, h.value, e.pubkey, e.created_at FROM hits h CROSS JOIN LATERAL (
                SELECT pubkey, created_at FROM {schema.Events} WHERE position = h.event_position AND kind + 0 = 5 OFFSET 0) e
            """;
        // The tag rows take their event's position from the insert's RETURNING, joined by id (unique in a round).
        // DO NOTHING: an event may repeat a tag; its index row is the same key.
        _insert = $"""
            WITH inserted AS (
                INSERT INTO {schema.Events} (id, pubkey, created_at, kind, stream, version, address, json)
                SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::integer[], $5::text[], $6::bigint[], $7::bytea[], $8::bytea[])
                RETURNING id, position, created_at, kind),
            tagged AS (
                INSERT INTO {schema.Tags} (name, value, created_at, event_position, kind)
                SELECT t.name, t.value, i.created_at, i.position, i.kind
                FROM unnest($9::text[], $10::integer[], $11::bytea[]) AS t (event_id, name, value) JOIN inserted i ON i.id = t.event_id
                ON CONFLICT DO NOTHING),
            expiring AS (
                INSERT INTO {schema.Expirations} (expires_at, event_position)
                SELECT x.expires_at, i.position
                FROM unnest($12::text[], $13::bigint[]) AS x (event_id, expires_at) JOIN inserted i ON i.id = x.event_id
                ON CONFLICT DO NOTHING),
            worded AS (
                INSERT INTO {schema.Words} (event_position, words)
                SELECT i.position, array_to_tsvector(string_to_array(w.words, ' '))
                FROM unnest($14::text[], $15::text[]) AS w (event_id, words) JOIN inserted i ON i.id = w.event_id
                ON CONFLICT DO NOTHING)
            SELECT id, position FROM inserted
            """;
        _deleteTags = $"""
            DELETE FROM {schema.Tags} t
            USING unnest($1::integer[], $2::bytea[], $3::bigint[], $4::bigint[]) AS d (name, value, created_at, event_position)
            WHERE t.name = d.name AND t.value = d.value AND t.created_at = d.created_at AND t.event_position = d.event_position
            """;
        _deleteEvents = $"DELETE FROM {schema.Events} WHERE position = ANY($1)";
        _deleteWords = $"DELETE FROM {schema.Words} WHERE event_position = ANY($1)";
        _deleteExpirations = $"""
            DELETE FROM {schema.Expirations} x USING unnest($1::bigint[], $2::bigint[]) AS d (expires_at, event_position)
            WHERE x.expires_at = d.expires_at AND x.event_position = d.event_position
            """;
        _writeHeads = $"""
            INSERT INTO {schema.Streams} (stream, version) SELECT * FROM unnest($1::text[], $2::bigint[])
            ON CONFLICT (stream) DO UPDATE SET version = excluded.version
            """;
    }

    public override void Clear()
    {
        base.Clear();
        _inserts.Clear();
        _tagEventIds.Clear();
        _tagNames.Clear();
        _tagValues.Clear();
        _removedTagNames.Clear();
        _removedTagValues.Clear();
        _removedTagCreatedAt.Clear();
        _removedTagPositions.Clear();
        _removedPositions.Clear();
        _removedExpiresAt.Clear();
        _removedExpiringPositions.Clear();
        _expiringIds.Clear();
        _expiringAt.Clear();
        _newHeads.Clear();
    }

    /// <summary>
    /// Reads the rows at the claimed ids and addresses and the claimed streams' heads, in one round trip. With
    /// <paramref name="sequencerLock"/> the batch's first statement takes the sequencer lock, so what is read is
    /// what every writer before it committed.
    /// </summary>
    public async Task ReadAsync(NpgsqlConnection connection, string? sequencerLock, CancellationToken cancellationToken)
    {
        await using var batch = new NpgsqlBatch(connection);
        if (sequencerLock is not null) batch.BatchCommands.Add(new NpgsqlBatchCommand(sequencerLock));
        batch.BatchCommands.Add(Command(_readById, TextArray(Ids)));
        var readAddresses = Addresses.Count > 0;
        if (readAddresses)
        {
            var addresses = new byte[Addresses.Count][];
            var i = 0;
            foreach (var address in Addresses) addresses[i++] = TagKeys.Address(address);
            batch.BatchCommands.Add(Command(_readByAddress, Array(addresses, NpgsqlDbType.Bytea)));
        }
        var readHeads = Streams.Count > 0;
        if (readHeads) batch.BatchCommands.Add(Command(_readHeads, TextArray(Streams)));
        batch.BatchCommands.Add(Command(_readDeletionRequests, HashArray(Ids), HashArray(Addresses)));

        await using var reader = await batch.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        if (sequencerLock is not null) await reader.NextResultAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            AddRow(Row(reader));
        }
        if (readAddresses)
        {
            await reader.NextResultAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                var row = Row(reader);
                AddRow(row, row.Address);
            }
        }
        if (readHeads)
        {
            await reader.NextResultAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                SetHead(reader.GetString(0), reader.GetInt64(1));
        }
        await reader.NextResultAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            AddDeletionRequest(reader.GetInt32(0), reader.GetFieldValue<byte[]>(1), new DeletionMark(reader.GetString(2), reader.GetInt64(3)));
        }
    }

    /// <summary>One object per position, so a row read both by id and by address is the same object.</summary>
    private StoredRow Row(NpgsqlDataReader reader)
    {
        var position = reader.GetInt64(0);
        if (TryGetRow(position, out var known)) return known;
        return new StoredRow(position, reader.GetString(1), reader.GetInt64(2),
            reader.IsDBNull(3) ? null : Encoding.UTF8.GetString(reader.GetFieldValue<byte[]>(3)), reader.GetFieldValue<byte[]>(4));
    }

    /// <summary>Removes a stored event and its tag rows, whose keys its stored JSON gives.</summary>
    public override void Remove(StoredRow row)
    {
        var stored = row.Event;
        row.Removed = true;
        _removedPositions.Add(row.Position);
        if (stored.Expiration is { } expiresAt)
        {
            _removedExpiresAt.Add(expiresAt);
            _removedExpiringPositions.Add(row.Position);
        }
        foreach (var tag in stored.Tags)
        {
            if (!TagKeys.IsFilterable(tag)) continue;
            _removedTagNames.Add(TagKeys.Name(tag[0][0]));
            _removedTagValues.Add(TagKeys.HashValue(tag[1]));
            _removedTagCreatedAt.Add(row.CreatedAt);
            _removedTagPositions.Add(row.Position);
        }
    }

    /// <summary>Records the insert; its position is drawn when the round is applied.</summary>
    public override void Insert(NostrEvent evt, string stream, long version, StoreWrite owner)
    {
        _inserts.Add(new Insertion(evt, stream, version, owner));
        if (evt.Expiration is { } expiresAt)
        {
            _expiringIds.Add(evt.Id);
            _expiringAt.Add(expiresAt);
        }
        foreach (var tag in evt.Tags)
        {
            if (!TagKeys.IsFilterable(tag)) continue;
            _tagEventIds.Add(evt.Id);
            _tagNames.Add(TagKeys.Name(tag[0][0]));
            _tagValues.Add(TagKeys.HashValue(tag[1]));
        }
        _newHeads[stream] = version;
    }

    /// <summary>Writes the round's changes in one round trip and hands each insert its position.</summary>
    public async Task ApplyAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        await using var batch = new NpgsqlBatch(connection);
        // Inserts first, so the first result is theirs. Order does not matter otherwise: a new row never
        // collides with a row removed here (its id was not stored, its version is above the head).
        if (_inserts.Count > 0) batch.BatchCommands.Add(InsertCommand());
        if (_removedTagNames.Count > 0)
        {
            batch.BatchCommands.Add(Command(_deleteTags,
                Array(_removedTagNames.ToArray(), NpgsqlDbType.Integer), Array(_removedTagValues.ToArray(), NpgsqlDbType.Bytea),
                Array(_removedTagCreatedAt.ToArray(), NpgsqlDbType.Bigint), Array(_removedTagPositions.ToArray(), NpgsqlDbType.Bigint)));
        }
        if (_removedPositions.Count > 0)
        {
            batch.BatchCommands.Add(Command(_deleteEvents, Array(_removedPositions.ToArray(), NpgsqlDbType.Bigint)));
            batch.BatchCommands.Add(Command(_deleteWords, Array(_removedPositions.ToArray(), NpgsqlDbType.Bigint)));
        }
        if (_removedExpiresAt.Count > 0)
        {
            batch.BatchCommands.Add(Command(_deleteExpirations,
                Array(_removedExpiresAt.ToArray(), NpgsqlDbType.Bigint), Array(_removedExpiringPositions.ToArray(), NpgsqlDbType.Bigint)));
        }
        if (_newHeads.Count > 0)
        {
            var streams = new string[_newHeads.Count];
            var versions = new long[_newHeads.Count];
            var i = 0;
            foreach (var (stream, version) in _newHeads)
            {
                streams[i] = stream;
                versions[i++] = version;
            }
            batch.BatchCommands.Add(Command(_writeHeads, Array(streams, NpgsqlDbType.Text), Array(versions, NpgsqlDbType.Bigint)));
        }
        if (batch.BatchCommands.Count == 0) return;

        await using var reader = await batch.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        if (_inserts.Count > 0)
        {
            var positions = new Dictionary<string, long>(_inserts.Count, StringComparer.Ordinal);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                positions[reader.GetString(0)] = reader.GetInt64(1);
            foreach (var insert in _inserts) insert.Owner.Inserted(positions[insert.Event.Id]);
        }
        // Read to the end, so an error in a later statement surfaces here.
        while (await reader.NextResultAsync(cancellationToken).ConfigureAwait(false)) { }
    }

    private NpgsqlBatchCommand InsertCommand()
    {
        var count = _inserts.Count;
        var ids = new string[count];
        var pubkeys = new string[count];
        var createdAt = new long[count];
        var kinds = new int[count];
        var streams = new string[count];
        var versions = new long[count];
        var addresses = new byte[]?[count];
        var json = new byte[]?[count];
        var wordedIds = new List<string>();
        var words = new List<string>();
        for (var i = 0; i < count; i++)
        {
            var insert = _inserts[i];
            var evt = insert.Event;
            ids[i] = evt.Id;
            pubkeys[i] = evt.Pubkey;
            createdAt[i] = evt.CreatedAt;
            kinds[i] = evt.Kind;
            streams[i] = insert.Stream;
            versions[i] = insert.Version;
            addresses[i] = evt.Address is { } address ? TagKeys.Address(address) : null;
            json[i] = evt.Json;
            if (((insert.Owner as SaveWrite)?.SearchWords ?? SearchQuery.IndexText(evt.Content, distinct: true)) is { Length: > 0 } text)
            {
                wordedIds.Add(evt.Id);
                words.Add(text);
            }
        }
        return Command(_insert,
            Array(ids, NpgsqlDbType.Text), Array(pubkeys, NpgsqlDbType.Text), Array(createdAt, NpgsqlDbType.Bigint),
            Array(kinds, NpgsqlDbType.Integer), Array(streams, NpgsqlDbType.Text), Array(versions, NpgsqlDbType.Bigint),
            Array(addresses, NpgsqlDbType.Bytea), Array(json, NpgsqlDbType.Bytea),
            Array(_tagEventIds.ToArray(), NpgsqlDbType.Text), Array(_tagNames.ToArray(), NpgsqlDbType.Integer),
            Array(_tagValues.ToArray(), NpgsqlDbType.Bytea),
            Array(_expiringIds.ToArray(), NpgsqlDbType.Text), Array(_expiringAt.ToArray(), NpgsqlDbType.Bigint),
            Array(wordedIds.ToArray(), NpgsqlDbType.Text), Array(words.ToArray(), NpgsqlDbType.Text));
    }

    private static NpgsqlBatchCommand Command(string sql, params ReadOnlySpan<NpgsqlParameter> parameters)
    {
        var command = new NpgsqlBatchCommand(sql);
        foreach (var parameter in parameters) command.Parameters.Add(parameter);
        return command;
    }

    private static NpgsqlParameter HashArray(HashSet<string> values)
    {
        var hashes = new byte[values.Count][];
        var i = 0;
        foreach (var value in values) hashes[i++] = TagKeys.HashValue(value);
        return Array(hashes, NpgsqlDbType.Bytea);
    }

    private static NpgsqlParameter TextArray(HashSet<string> values)
    {
        var array = new string[values.Count];
        values.CopyTo(array);
        return Array(array, NpgsqlDbType.Text);
    }

    private static NpgsqlParameter Array<T>(T[] values, NpgsqlDbType elementType) =>
        new() { Value = values, NpgsqlDbType = NpgsqlDbType.Array | elementType };

    private readonly record struct Insertion(NostrEvent Event, string Stream, long Version, StoreWrite Owner);
}
