using Microsoft.Data.Sqlite;

namespace NostrRelay.Storage.Compositions;

/// <summary>
/// The log of a <see cref="ShardedEventStore"/>: one row per write, in one Sqlite file. It reserves a stream's
/// next version (so two writers of one stream conflict even when their events go to different shards) and
/// draws the global position before the shard write, then records whether the event was stored, later removed,
/// or is still pending. One connection, one writer: positions commit in order.
/// </summary>
internal sealed class ShardLedger : IDisposable
{
    public const int Pending = 0, Stored = 1, Removed = 2;

    private readonly SqliteConnection _connection;
    private readonly Lock _gate = new();

    public ShardLedger(string path)
    {
        var directory = Path.GetDirectoryName(path);
        if (!string.IsNullOrEmpty(directory)) Directory.CreateDirectory(directory);
        _connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadWriteCreate, Pooling = false }.ToString());
        _connection.Open();
        Execute("""
            PRAGMA journal_mode = WAL;
            PRAGMA synchronous = FULL;
            CREATE TABLE IF NOT EXISTS ledger (
                position   INTEGER PRIMARY KEY AUTOINCREMENT,
                stream     TEXT NOT NULL,
                version    INTEGER NOT NULL,
                shard      INTEGER NOT NULL,
                id         TEXT NOT NULL,
                state      INTEGER NOT NULL,
                written_at INTEGER NOT NULL,
                UNIQUE (stream, version));
            CREATE INDEX IF NOT EXISTS ledger_id ON ledger (id);
            CREATE TABLE IF NOT EXISTS heads (stream TEXT PRIMARY KEY, version INTEGER NOT NULL) WITHOUT ROWID;
            """);
    }

    public long Head(string stream)
    {
        lock (_gate)
        {
            using var command = Command("SELECT version FROM heads WHERE stream = $s", ("$s", stream));
            return command.ExecuteScalar() is long version ? version : 0;
        }
    }

    /// <summary>The position reserved for version expected + 1, or null when the head is not <paramref name="expectedVersion"/>.</summary>
    public long? Reserve(string stream, long expectedVersion, int shard, string id)
    {
        lock (_gate)
        {
            using var transaction = _connection.BeginTransaction();
            using (var head = Command("SELECT version FROM heads WHERE stream = $s", ("$s", stream)))
            {
                head.Transaction = transaction;
                if ((head.ExecuteScalar() is long current ? current : 0) != expectedVersion) return null;
            }
            using (var setHead = Command("INSERT INTO heads (stream, version) VALUES ($s, $v) ON CONFLICT (stream) DO UPDATE SET version = $v", ("$s", stream), ("$v", expectedVersion + 1)))
            {
                setHead.Transaction = transaction;
                setHead.ExecuteNonQuery();
            }
            using var insert = Command("INSERT INTO ledger (stream, version, shard, id, state, written_at) VALUES ($s, $v, $shard, $id, 0, $at) RETURNING position",
                ("$s", stream), ("$v", expectedVersion + 1), ("$shard", shard), ("$id", id), ("$at", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()));
            insert.Transaction = transaction;
            var position = (long)insert.ExecuteScalar()!;
            transaction.Commit();
            return position;
        }
    }

    /// <summary>The shard refused the write: the reservation goes, and the head returns to where it was.</summary>
    public void Release(long position, string stream, long expectedVersion)
    {
        lock (_gate)
        {
            using var transaction = _connection.BeginTransaction();
            foreach (var (sql, parameters) in new (string, (string, object)[])[]
            {
                ("DELETE FROM ledger WHERE position = $p", [("$p", position)]),
                ("UPDATE heads SET version = $v WHERE stream = $s", [("$v", expectedVersion), ("$s", stream)]),
            })
            {
                using var command = Command(sql, parameters);
                command.Transaction = transaction;
                command.ExecuteNonQuery();
            }
            transaction.Commit();
        }
    }

    public void MarkStored(long position) => SetState("position = $k", position, Stored);

    /// <summary>The event left its shard (deleted, or replaced by a newer version).</summary>
    public void MarkRemoved(string id) => SetState("id = $k AND state = 1", id, Removed);

    private void SetState(string where, object key, int state)
    {
        lock (_gate)
        {
            using var command = Command($"UPDATE ledger SET state = $state WHERE {where}", ("$state", state), ("$k", key));
            command.ExecuteNonQuery();
        }
    }

    public List<LedgerEntry> Read(long afterPosition, int max)
    {
        lock (_gate)
        {
            using var command = Command("SELECT position, stream, version, shard, id, state, written_at FROM ledger WHERE position > $after ORDER BY position LIMIT $max",
                ("$after", afterPosition), ("$max", max));
            return ReadEntries(command);
        }
    }

    /// <summary>
    /// One stream's entries after a version, in version order, without the removed ones: a range of the unique
    /// (stream, version) index, so it reads that stream's rows only.
    /// </summary>
    public List<LedgerEntry> ReadStream(string stream, long afterVersion, int max)
    {
        lock (_gate)
        {
            using var command = Command($"SELECT position, stream, version, shard, id, state, written_at FROM ledger WHERE stream = $s AND version > $after AND state <> {Removed} ORDER BY version LIMIT $max",
                ("$s", stream), ("$after", afterVersion), ("$max", max));
            return ReadEntries(command);
        }
    }

    private static List<LedgerEntry> ReadEntries(SqliteCommand command)
    {
        using var reader = command.ExecuteReader();
        var entries = new List<LedgerEntry>();
        while (reader.Read())
            entries.Add(new LedgerEntry(reader.GetInt64(0), reader.GetString(1), reader.GetInt64(2), reader.GetInt32(3), reader.GetString(4), reader.GetInt32(5), reader.GetInt64(6)));
        return entries;
    }

    private void Execute(string sql)
    {
        using var command = _connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private SqliteCommand Command(string sql, params (string Name, object Value)[] parameters)
    {
        var command = _connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, value) in parameters) command.Parameters.AddWithValue(name, value);
        return command;
    }

    public void Dispose() => _connection.Dispose();
}

internal sealed record LedgerEntry(long Position, string Stream, long Version, int Shard, string Id, int State, long WrittenAtMilliseconds);
