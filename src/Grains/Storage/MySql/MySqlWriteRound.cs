using System.Globalization;
using System.Text;
using MySqlConnector;
using NostrRelay.Protocol;
using NostrRelay.Storage.Sql;
using NostrRelay.Storage.Writing;

namespace NostrRelay.Storage.MySql;

/// <summary>
/// A run of queued writes that touch no id, stream or address twice, done inside the batch transaction: a few
/// statements read every row the writes need (by id, by address, stream heads, deletion requests naming them), each
/// write decides in memory in queue order, then multi-row statements apply all their changes.
/// <see cref="IWriteTransaction"/> in MariaDB. Reused by the writer: <see cref="Clear"/> starts the next round.
/// </summary>
/// <remarks>
/// Keys go into the SQL text as hex literals (<c>X'...'</c>) and numbers: claimed ids are checked here, an event's own
/// id and pubkey by <see cref="MySqlEventStore"/> before it queues the write, tag values and addresses are hashes. An
/// event's JSON and a stream name go as parameters.
/// </remarks>
internal sealed class MySqlWriteRound : ReadAheadRound
{
    private readonly MySqlSchema _schema;

    private readonly SqlRows _events, _tags, _expirations, _words, _headRows, _removedTags, _removedEvents, _removedWords, _removedExpirations;
    private readonly HashSet<(int, string)> _eventTags = [];
    private readonly Dictionary<string, long> _newHeads = new(StringComparer.Ordinal);

    public MySqlWriteRound(MySqlSchema schema)
    {
        _schema = schema;
        var db = schema.Quoted;
        _events = new SqlRows($"INSERT INTO {db}.events (position, id, pubkey, created_at, kind, stream, version, address, json) VALUES ", ",");
        _tags = new SqlRows($"INSERT INTO {db}.tags (name, value, created_at, id, event_position, kind, pubkey) VALUES ", ",");
        _expirations = new SqlRows($"INSERT INTO {db}.expirations (expires_at, event_position) VALUES ", ",");
        _words = new SqlRows($"INSERT INTO {db}.words (event_position, words) VALUES ", ",");
        _headRows = new SqlRows($"INSERT INTO {db}.streams (stream, version) VALUES ", ",", " ON DUPLICATE KEY UPDATE version = VALUES(version)");
        _removedTags = new SqlRows($"DELETE FROM {db}.tags WHERE ", " OR ");
        _removedEvents = new SqlRows($"DELETE FROM {db}.events WHERE position IN (", ",", ")");
        _removedWords = new SqlRows($"DELETE FROM {db}.words WHERE event_position IN (", ",", ")");
        _removedExpirations = new SqlRows($"DELETE FROM {db}.expirations WHERE ", " OR ");
    }

    /// <summary>The last position drawn in this transaction; the writer sets it from the sequencer row and stores it back.</summary>
    public long LastPosition { get; set; }

    public override void Clear()
    {
        base.Clear();
        _events.Clear();
        _tags.Clear();
        _expirations.Clear();
        _words.Clear();
        _headRows.Clear();
        _removedTags.Clear();
        _removedEvents.Clear();
        _removedWords.Clear();
        _removedExpirations.Clear();
        _newHeads.Clear();
    }

    /// <summary>Reads the rows at the claimed ids and addresses, the claimed streams' heads and the deletion requests naming them.</summary>
    public async Task ReadAsync(MySqlConnection connection, MySqlTransaction transaction, CancellationToken cancellationToken)
    {
        var db = _schema.Quoted;
        var ids = new StringBuilder();
        foreach (var id in Ids)
            if (NostrRelay.Protocol.Hex.IsLowerHex(id, 64)) AppendHex(ids.Append(ids.Length > 0 ? "," : ""), id);
        if (ids.Length > 0)
        {
            await using var command = Command(connection, transaction, $"SELECT position, id, created_at, json FROM {db}.events WHERE id IN ({ids})");
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                AddRow(Row(reader, address: null));
            }
        }
        if (Addresses.Count > 0)
        {
            var byHash = new Dictionary<string, string>(Addresses.Count, StringComparer.Ordinal);
            var hashes = new StringBuilder();
            foreach (var address in Addresses)
            {
                var hash = Convert.ToHexStringLower(TagKeys.HashValue(address));
                byHash[hash] = address;
                AppendHex(hashes.Append(hashes.Length > 0 ? "," : ""), hash);
            }
            await using var command = Command(connection, transaction,
                $"SELECT position, id, created_at, json, address FROM {db}.events WHERE address IN ({hashes})");
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                var address = byHash[MySqlKeys.ToHex(reader.GetFieldValue<byte[]>(4))];
                AddRow(Row(reader, address), address);
            }
        }
        if (Streams.Count > 0)
        {
            await using var command = Command(connection, transaction, "");
            var sql = new StringBuilder($"SELECT stream, version FROM {db}.streams WHERE stream IN (");
            var first = true;
            foreach (var stream in Streams)
            {
                if (!first) sql.Append(',');
                first = false;
                sql.Append('?');
                command.Parameters.Add(new MySqlParameter { Value = MySqlKeys.Stream(stream) });
            }
            command.CommandText = sql.Append(')').ToString();
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                SetHead(Encoding.UTF8.GetString(reader.GetFieldValue<byte[]>(0)), reader.GetInt64(1));
        }
        await ReadDeletionRequestsAsync(connection, transaction, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The stored deletion requests (kind 5) with an e tag naming a claimed id or an a tag naming a claimed address:
    /// a range of the tags key per value, whose rows say the kind, the pubkey and the time.
    /// </summary>
    private async Task ReadDeletionRequestsAsync(MySqlConnection connection, MySqlTransaction transaction, CancellationToken cancellationToken)
    {
        var db = _schema.Quoted;
        var sql = new StringBuilder();
        foreach (var (letter, values) in (ReadOnlySpan<(char, HashSet<string>)>)[('e', Ids), ('a', Addresses)])
        {
            if (values.Count == 0) continue;
            if (sql.Length > 0) sql.Append(" UNION ALL ");
            sql.Append("SELECT t.name, t.value, t.pubkey, t.created_at FROM ").Append(db).Append(".tags t WHERE t.name = ")
                .Append(TagKeys.Name(letter).ToString(CultureInfo.InvariantCulture))
                .Append(" AND t.kind = ").Append(DeletionRules.DeletionRequestKind.ToString(CultureInfo.InvariantCulture)).Append(" AND t.value IN (");
            var first = true;
            foreach (var value in values)
            {
                if (!first) sql.Append(',');
                first = false;
                AppendHex(sql, Convert.ToHexStringLower(TagKeys.HashValue(value)));
            }
            sql.Append(')');
        }
        if (sql.Length == 0) return;
        await using var command = Command(connection, transaction, sql.ToString());
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            AddDeletionRequest(reader.GetInt32(0), reader.GetFieldValue<byte[]>(1), new DeletionMark(MySqlKeys.ToHex(reader.GetFieldValue<byte[]>(2)), reader.GetInt64(3)));
        }
    }

    /// <summary>One object per position, so a row read both by id and by address is the same object.</summary>
    private StoredRow Row(MySqlDataReader reader, string? address)
    {
        var position = reader.GetInt64(0);
        if (TryGetRow(position, out var known)) return known;
        return new StoredRow(position, MySqlKeys.ToHex(reader.GetFieldValue<byte[]>(1)), reader.GetInt64(2), address, reader.GetFieldValue<byte[]>(3));
    }

    /// <summary>Removes a stored event and its index rows, whose keys its stored JSON gives.</summary>
    public override void Remove(StoredRow row)
    {
        var stored = row.Event;
        row.Removed = true;
        var position = row.Position.ToString(CultureInfo.InvariantCulture);
        _removedEvents.Row().Append(position);
        _removedWords.Row().Append(position);
        if (stored.Expiration is { } expiresAt)
            _removedExpirations.Row().Append("(expires_at = ").Append(expiresAt.ToString(CultureInfo.InvariantCulture)).Append(" AND event_position = ").Append(position).Append(')');
        _eventTags.Clear();
        foreach (var tag in stored.Tags)
        {
            if (!TagKeys.IsFilterable(tag) || !_eventTags.Add((tag[0][0], tag[1]))) continue;
            var sql = _removedTags.Row().Append("(name = ").Append(TagKeys.Name(tag[0][0]).ToString(CultureInfo.InvariantCulture)).Append(" AND value = ");
            AppendHex(sql, Convert.ToHexStringLower(TagKeys.HashValue(tag[1])));
            sql.Append(" AND created_at = ").Append(row.CreatedAt.ToString(CultureInfo.InvariantCulture)).Append(" AND id = ");
            AppendHex(sql, row.Id).Append(')');
        }
    }

    /// <summary>Records the insert with the next position, which the owner hears at once.</summary>
    public override void Insert(NostrEvent evt, string stream, long version, StoreWrite owner)
    {
        var position = ++LastPosition;
        owner.Inserted(position);
        var at = position.ToString(CultureInfo.InvariantCulture);
        var createdAt = evt.CreatedAt.ToString(CultureInfo.InvariantCulture);
        var kind = evt.Kind.ToString(CultureInfo.InvariantCulture);
        var row = _events.Row(evt.Json.Length).Append('(').Append(at).Append(',');
        AppendHex(row, evt.Id).Append(',');
        AppendHex(row, evt.Pubkey).Append(',').Append(createdAt).Append(',').Append(kind).Append(',');
        _events.Parameter(row, MySqlKeys.Stream(stream)).Append(',').Append(version.ToString(CultureInfo.InvariantCulture)).Append(',');
        if (evt.Address is { } address) AppendHex(row, Convert.ToHexStringLower(TagKeys.HashValue(address)));
        else row.Append("NULL");
        _events.Parameter(row.Append(','), evt.Json).Append(')');

        _eventTags.Clear();
        foreach (var tag in evt.Tags)
        {
            // A tag repeated in one event is one index row.
            if (!TagKeys.IsFilterable(tag) || !_eventTags.Add((tag[0][0], tag[1]))) continue;
            var sql = _tags.Row().Append('(').Append(TagKeys.Name(tag[0][0]).ToString(CultureInfo.InvariantCulture)).Append(',');
            AppendHex(sql, Convert.ToHexStringLower(TagKeys.HashValue(tag[1]))).Append(',').Append(createdAt).Append(',');
            AppendHex(sql, evt.Id).Append(',').Append(at).Append(',').Append(kind).Append(',');
            AppendHex(sql, evt.Pubkey).Append(')');
        }
        if (evt.Expiration is { } expiresAt)
            _expirations.Row().Append('(').Append(expiresAt.ToString(CultureInfo.InvariantCulture)).Append(',').Append(at).Append(')');
        if (((owner as SaveWrite)?.SearchWords ?? MySqlKeys.SearchTokens(evt.Content)) is { Length: > 0 } words)
            _words.Parameter(_words.Row(words.Length).Append('(').Append(at).Append(','), words).Append(')');
        _newHeads[stream] = version;
    }

    /// <summary>Writes the round's changes.</summary>
    public async Task ApplyAsync(MySqlConnection connection, MySqlTransaction transaction, CancellationToken cancellationToken)
    {
        foreach (var (stream, version) in _newHeads)
        {
            var row = _headRows.Row().Append('(');
            _headRows.Parameter(row, MySqlKeys.Stream(stream)).Append(',').Append(version.ToString(CultureInfo.InvariantCulture)).Append(')');
        }
        _newHeads.Clear();
        // Removals first: a replaced event and its successor never share a key, but a smaller index is cheaper to insert into.
        await _removedTags.ExecuteAsync(connection, transaction, cancellationToken).ConfigureAwait(false);
        await _removedExpirations.ExecuteAsync(connection, transaction, cancellationToken).ConfigureAwait(false);
        await _removedWords.ExecuteAsync(connection, transaction, cancellationToken).ConfigureAwait(false);
        await _removedEvents.ExecuteAsync(connection, transaction, cancellationToken).ConfigureAwait(false);
        await _events.ExecuteAsync(connection, transaction, cancellationToken).ConfigureAwait(false);
        await _tags.ExecuteAsync(connection, transaction, cancellationToken).ConfigureAwait(false);
        await _expirations.ExecuteAsync(connection, transaction, cancellationToken).ConfigureAwait(false);
        await _words.ExecuteAsync(connection, transaction, cancellationToken).ConfigureAwait(false);
        await _headRows.ExecuteAsync(connection, transaction, cancellationToken).ConfigureAwait(false);
    }

    private static StringBuilder AppendHex(StringBuilder sql, string lowerHex) => sql.Append("X'").Append(lowerHex).Append('\'');

    private static MySqlCommand Command(MySqlConnection connection, MySqlTransaction transaction, string sql) =>
        new(sql, connection, transaction);
}
