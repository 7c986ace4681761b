using Microsoft.Data.Sqlite;
using NostrRelay.Protocol;
using NostrRelay.Storage.Writing;

namespace NostrRelay.Storage.Sqlite;

/// <summary>
/// The writer connection's statements, prepared once and reused for every event: <see cref="IWriteTransaction"/>
/// in SQLite. Used by the writer thread only; every method runs inside the batch transaction opened by
/// <see cref="Begin"/>, so a check sees the rows that earlier writes of the same batch inserted but did not commit yet.
/// </summary>
internal sealed class SqliteWriteCommands : IWriteTransaction, IDisposable
{
    private readonly SqliteConnection _connection;
    private readonly List<SqliteCommand> _all = [];
    private SqliteTransaction? _transaction;
    private readonly DeletionFilter _deletionFilter = new();

    private readonly SqliteCommand _readHead;
    private readonly SqliteParameter _readHeadStream;
    private readonly SqliteCommand _writeHead;
    private readonly SqliteParameter _writeHeadStream, _writeHeadVersion;
    private readonly SqliteCommand _insertEvent;
    private readonly SqliteParameter _insertId, _insertPubkey, _insertCreatedAt, _insertKind, _insertStream, _insertVersion, _insertAddress, _insertJson;
    private readonly SqliteCommand _insertTag;
    private readonly SqliteParameter _insertTagName, _insertTagValue, _insertTagCreatedAt, _insertTagPosition, _insertTagKind;
    private readonly SqliteCommand _readAddress;
    private readonly SqliteParameter _readAddressAddress;
    private readonly SqliteCommand _readById;
    private readonly SqliteParameter _readByIdId;
    private readonly SqliteCommand _deleteEvent;
    private readonly SqliteParameter _deleteEventPosition;
    private readonly SqliteCommand _deletionRequests;
    private readonly SqliteParameter _deletionRequestsName, _deletionRequestsValue, _deletionRequestsSince;
    private readonly SqliteSearchIndex _search;
    private readonly KnownHeads _heads = new();
    private readonly SqliteCommand _deleteWords;
    private readonly SqliteParameter _deleteWordsPosition;
    private readonly SqliteCommand _insertExpiration, _deleteExpiration;
    private readonly SqliteParameter _insertExpirationAt, _insertExpirationPosition, _deleteExpirationAt, _deleteExpirationPosition;
    private readonly SqliteCommand _deleteTag;
    private readonly SqliteParameter _deleteTagName, _deleteTagValue, _deleteTagCreatedAt, _deleteTagPosition;

    public SqliteWriteCommands(SqliteConnection connection, bool searchReadOnly = false)
    {
        _connection = connection;
        _search = new SqliteSearchIndex(connection, searchReadOnly);
        _readHead = Command("SELECT version FROM streams WHERE stream = $stream;");
        _readHeadStream = Key(_readHead, "$stream");

        _writeHead = Command("""
            INSERT INTO streams (stream, version) VALUES ($stream, $version)
            ON CONFLICT (stream) DO UPDATE SET version = excluded.version;
            """);
        _writeHeadStream = Key(_writeHead, "$stream");
        _writeHeadVersion = Parameter(_writeHead, "$version", SqliteType.Integer);

        _insertEvent = Command("""
            INSERT INTO events (id, pubkey, created_at, kind, stream, version, address, json)
            VALUES ($id, $pubkey, $created_at, $kind, $stream, $version, $address, $json)
            RETURNING position;
            """);
        _insertId = Key(_insertEvent, "$id");
        _insertPubkey = Key(_insertEvent, "$pubkey");
        _insertCreatedAt = Parameter(_insertEvent, "$created_at", SqliteType.Integer);
        _insertKind = Parameter(_insertEvent, "$kind", SqliteType.Integer);
        _insertStream = Key(_insertEvent, "$stream");
        _insertVersion = Parameter(_insertEvent, "$version", SqliteType.Integer);
        _insertAddress = Parameter(_insertEvent, "$address", SqliteType.Text);
        _insertJson = Parameter(_insertEvent, "$json", SqliteType.Blob);

        // OR IGNORE: an event may repeat a tag; its index row is the same key.
        _insertTag = Command("""
            INSERT OR IGNORE INTO tags (name, value, created_at, event_position, kind)
            VALUES ($name, $value, $created_at, $position, $kind);
            """);
        _insertTagName = Parameter(_insertTag, "$name", SqliteType.Text);
        _insertTagValue = Key(_insertTag, "$value");
        _insertTagCreatedAt = Parameter(_insertTag, "$created_at", SqliteType.Integer);
        _insertTagPosition = Parameter(_insertTag, "$position", SqliteType.Integer);
        _insertTagKind = Parameter(_insertTag, "$kind", SqliteType.Integer);

        _readAddress = Command("SELECT position, id, created_at, json FROM events WHERE address = $address;");
        _readAddressAddress = Parameter(_readAddress, "$address", SqliteType.Text);

        _readById = Command("SELECT position, created_at, address, json FROM events WHERE id = $id;");
        _readByIdId = Key(_readById, "$id");

        _deleteEvent = Command("DELETE FROM events WHERE position = $position;");
        _deleteEventPosition = Parameter(_deleteEvent, "$position", SqliteType.Integer);

        // A range of the tags primary key (name, value, created_at), then the event row of each hit of kind 5.
        _deletionRequests = Command("""
            SELECT e.pubkey, e.created_at FROM tags t JOIN events e ON e.position = t.event_position
            WHERE t.name = $name AND t.value = $value AND t.created_at >= $since AND t.kind = 5;
            """);
        _deletionRequestsName = Parameter(_deletionRequests, "$name", SqliteType.Text);
        _deletionRequestsValue = Key(_deletionRequests, "$value");
        _deletionRequestsSince = Parameter(_deletionRequests, "$since", SqliteType.Integer);

        _deleteWords = Command("DELETE FROM search WHERE rowid = $position;");
        _deleteWordsPosition = Parameter(_deleteWords, "$position", SqliteType.Integer);
        _insertExpiration = Command("INSERT OR IGNORE INTO expirations (expires_at, event_position) VALUES ($at, $position);");
        _insertExpirationAt = Parameter(_insertExpiration, "$at", SqliteType.Integer);
        _insertExpirationPosition = Parameter(_insertExpiration, "$position", SqliteType.Integer);
        _deleteExpiration = Command("DELETE FROM expirations WHERE expires_at = $at AND event_position = $position;");
        _deleteExpirationAt = Parameter(_deleteExpiration, "$at", SqliteType.Integer);
        _deleteExpirationPosition = Parameter(_deleteExpiration, "$position", SqliteType.Integer);

        _deleteTag = Command("""
            DELETE FROM tags
            WHERE name = $name AND value = $value AND created_at = $created_at AND event_position = $position;
            """);
        _deleteTagName = Parameter(_deleteTag, "$name", SqliteType.Text);
        _deleteTagValue = Key(_deleteTag, "$value");
        _deleteTagCreatedAt = Parameter(_deleteTag, "$created_at", SqliteType.Integer);
        _deleteTagPosition = Parameter(_deleteTag, "$position", SqliteType.Integer);

        foreach (var command in _all) command.Prepare();
        using var requests = _connection.CreateCommand();
        requests.CommandText = "SELECT json FROM events WHERE kind = 5;";
        using var reader = requests.ExecuteReader();
        while (reader.Read()) _deletionFilter.Add(EventReader.ParseStored(reader.GetFieldValue<byte[]>(0)));
    }

    /// <summary>NIP-50's index, which this writer's batches feed.</summary>
    public SqliteSearchIndex Search => _search;

    public void Begin()
    {
        _search.Forget();
        _heads.Forget();
        _transaction = _connection.BeginTransaction();
        foreach (var command in _all) command.Transaction = _transaction;
    }

    public void Commit()
    {
        var transaction = _transaction ?? throw new InvalidOperationException("no transaction is open");
        _transaction = null;
        try { transaction.Commit(); }
        finally { transaction.Dispose(); }
        _search.Committed();
        _heads.Committed();
    }

    /// <summary>Rolls the open transaction back, if any; never throws (the connection may already have rolled back).</summary>
    public void Rollback()
    {
        var transaction = _transaction;
        _transaction = null;
        _search.Forget();
        _heads.Forget();
        if (transaction is null) return;
        try { transaction.Rollback(); }
        catch (SqliteException) { }
        catch (InvalidOperationException) { }
        finally { transaction.Dispose(); }
    }

    public StoredRow? FindById(string id)
    {
        _readByIdId.Value = SqliteKey.Of(id);
        using var reader = _readById.ExecuteReader();
        if (!reader.Read()) return null;
        return new StoredRow(reader.GetInt64(0), id, reader.GetInt64(1), reader.IsDBNull(2) ? null : reader.GetString(2),
            reader.GetFieldValue<byte[]>(3));
    }

    public long Head(string stream)
    {
        if (_heads.TryGet(stream, out var known)) return known;
        _readHeadStream.Value = SqliteKey.Of(stream);
        var head = _readHead.ExecuteScalar() is long version ? version : 0;
        _heads.Read(stream, head);
        return head;
    }

    public IReadOnlyList<StoredRow> Holders(string address)
    {
        _readAddressAddress.Value = address;
        var holders = new List<StoredRow>(1);
        using var reader = _readAddress.ExecuteReader();
        while (reader.Read())
            holders.Add(new StoredRow(reader.GetInt64(0), SqliteKey.Read(reader, 1), reader.GetInt64(2), address, reader.GetFieldValue<byte[]>(3)));
        return holders;
    }

    public IReadOnlyList<DeletionMark> DeletionRequests(char tag, string value, long since)
    {
        if (!_deletionFilter.MayName(tag, value)) return [];
        _deletionRequestsName.Value = tag switch { 'e' => "e", 'a' => "a", _ => tag.ToString() };
        _deletionRequestsValue.Value = SqliteKey.Of(value);
        _deletionRequestsSince.Value = since;
        using var reader = _deletionRequests.ExecuteReader();
        if (!reader.Read()) return [];
        var marks = new List<DeletionMark>(1);
        do marks.Add(new DeletionMark(SqliteKey.Read(reader, 0), reader.GetInt64(1)));
        while (reader.Read());
        return marks;
    }

    public void Insert(NostrEvent evt, string stream, long version, StoreWrite owner)
    {
        _insertId.Value = SqliteKey.Of(evt.Id);
        _insertPubkey.Value = SqliteKey.Of(evt.Pubkey);
        _insertCreatedAt.Value = evt.CreatedAt;
        _insertKind.Value = evt.Kind;
        _insertStream.Value = SqliteKey.Of(stream);
        _insertVersion.Value = version;
        _insertAddress.Value = (object?)evt.Address ?? DBNull.Value;
        _insertJson.Value = evt.Json;
        var position = (long)_insertEvent.ExecuteScalar()!;

        _insertTagCreatedAt.Value = evt.CreatedAt;
        _insertTagPosition.Value = position;
        _insertTagKind.Value = evt.Kind;
        foreach (var tag in evt.Tags)
        {
            if (!IsFilterable(tag)) continue;
            _insertTagName.Value = tag[0];
            _insertTagValue.Value = SqliteKey.Of(tag[1]);
            _insertTag.ExecuteNonQuery();
        }

        // Indexed for NIP-50 behind the batch, a thousand events at a time (SqliteSearchIndex).
        _search.Added(position, (owner as SaveWrite)?.SearchWords ?? SearchQuery.IndexText(evt.Content));

        if (evt.Expiration is { } expiresAt)
        {
            _insertExpirationAt.Value = expiresAt;
            _insertExpirationPosition.Value = position;
            _insertExpiration.ExecuteNonQuery();
        }

        _writeHeadStream.Value = SqliteKey.Of(stream);
        _writeHeadVersion.Value = version;
        _writeHead.ExecuteNonQuery();
        _heads.Moved(stream, version);
        _deletionFilter.Add(evt);
        owner.Inserted(position);
    }

    /// <summary>Deletes an event and its tag rows, whose keys its stored JSON gives.</summary>
    public void Remove(StoredRow row)
    {
        var evt = row.Event;
        _deleteTagCreatedAt.Value = evt.CreatedAt;
        _deleteTagPosition.Value = row.Position;
        foreach (var tag in evt.Tags)
        {
            if (!IsFilterable(tag)) continue;
            _deleteTagName.Value = tag[0];
            _deleteTagValue.Value = SqliteKey.Of(tag[1]);
            _deleteTag.ExecuteNonQuery();
        }
        if (evt.Expiration is { } expiresAt)
        {
            _deleteExpirationAt.Value = expiresAt;
            _deleteExpirationPosition.Value = row.Position;
            _deleteExpiration.ExecuteNonQuery();
        }
        if (!_search.Indexed(row.Position)) _search.Removed(row.Position);
        else if (evt.Content.Length > 0)
        {
            _deleteWordsPosition.Value = row.Position;
            _deleteWords.ExecuteNonQuery();
        }
        _deleteEventPosition.Value = row.Position;
        _deleteEvent.ExecuteNonQuery();
    }

    /// <summary>NIP-01: only tags named by one letter can be filtered on ("#e"), by their first value.</summary>
    internal static bool IsFilterable(string[] tag) => tag.Length >= 2 && tag[0].Length == 1;

    public void Dispose()
    {
        Rollback();
        foreach (var command in _all) command.Dispose();
        _search.Dispose();
    }

    private SqliteCommand Command(string sql)
    {
        var command = _connection.CreateCommand();
        command.CommandText = sql;
        _all.Add(command);
        return command;
    }

    private static SqliteParameter Parameter(SqliteCommand command, string name, SqliteType type) =>
        command.Parameters.Add(name, type);

    /// <summary>A parameter for a <see cref="SqliteKey"/>: text or bytes, as the value bound says.</summary>
    private static SqliteParameter Key(SqliteCommand command, string name) => command.Parameters.Add(new SqliteParameter { ParameterName = name });
}
