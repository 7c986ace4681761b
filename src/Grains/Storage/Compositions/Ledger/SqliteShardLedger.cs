using Microsoft.Data.Sqlite;

namespace NostrRelay.Storage.Compositions.Ledger;

/// <summary>
/// The ledger in one Sqlite file beside a silo (WAL, <c>synchronous=FULL</c>): for one box. Its writer thread owns the
/// write connection and commits each group of ledger writes in one transaction (one fsync); reads use connections of
/// their own, which WAL never blocks.
/// </summary>
internal sealed class SqliteShardLedger : LedgerWriter, IShardLedger
{
    private readonly string _path;
    private readonly string _readConnectionString;
    private SqliteConnection? _connection;
    private SqliteCommand? _head, _setHead, _insert, _delete, _restoreHead, _markStored, _markRemoved;

    public SqliteShardLedger(string path)
    {
        _path = path;
        _readConnectionString = new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadOnly, Pooling = true }.ToString();
    }

    public Task InitAsync(CancellationToken cancellationToken)
    {
        if (_connection is not null) return Task.CompletedTask;
        var directory = Path.GetDirectoryName(_path);
        if (!string.IsNullOrEmpty(directory)) Directory.CreateDirectory(directory);
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = _path, Mode = SqliteOpenMode.ReadWriteCreate, Pooling = false }.ToString());
        connection.Open();
        using (var create = connection.CreateCommand())
        {
            create.CommandText = """
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
                """;
            create.ExecuteNonQuery();
        }
        _head = Prepare(connection, "SELECT version FROM heads WHERE stream = $s", "$s");
        _setHead = Prepare(connection, "INSERT INTO heads (stream, version) VALUES ($s, $v) ON CONFLICT (stream) DO UPDATE SET version = $v", "$s", "$v");
        _insert = Prepare(connection, $"INSERT INTO ledger (stream, version, shard, id, state, written_at) VALUES ($s, $v, $shard, $id, {LedgerState.Pending}, $at) RETURNING position",
            "$s", "$v", "$shard", "$id", "$at");
        _delete = Prepare(connection, "DELETE FROM ledger WHERE position = $p", "$p");
        _restoreHead = Prepare(connection, "UPDATE heads SET version = $v WHERE stream = $s AND version = $v + 1", "$v", "$s");
        _markStored = Prepare(connection, $"UPDATE ledger SET state = {LedgerState.Stored} WHERE position = $p", "$p");
        _markRemoved = Prepare(connection, $"UPDATE ledger SET state = {LedgerState.Removed} WHERE id = $id AND state = {LedgerState.Stored}", "$id");
        _connection = connection;
        Start();
        return Task.CompletedTask;
    }

    private static SqliteCommand Prepare(SqliteConnection connection, string sql, params string[] parameters)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var name in parameters) command.Parameters.Add(new SqliteParameter { ParameterName = name });
        return command;
    }

    public Task<long?> ReserveAsync(string stream, long expectedVersion, int shard, string id) => WriteAsync(LedgerWrite.Reserve(stream, expectedVersion, shard, id));

    public Task ReleaseAsync(long position, string stream, long expectedVersion) => WriteAsync(LedgerWrite.Release(position, stream, expectedVersion));

    public Task MarkStoredAsync(long position) => WriteAsync(LedgerWrite.MarkStored(position));

    public Task MarkRemovedAsync(string id) => WriteAsync(LedgerWrite.MarkRemoved(id));

    protected override ValueTask CommitAsync(List<LedgerWrite> batch)
    {
        using var transaction = _connection!.BeginTransaction();
        foreach (var command in (ReadOnlySpan<SqliteCommand>)[_head!, _setHead!, _insert!, _delete!, _restoreHead!, _markStored!, _markRemoved!])
            command.Transaction = transaction;
        foreach (var write in batch)
        {
            switch (write.Kind)
            {
                case LedgerWriteKind.Reserve:
                    _head!.Parameters[0].Value = write.Stream;
                    var head = _head.ExecuteScalar() is long current ? current : 0;
                    if (head != write.Number)
                    {
                        write.Result = null;
                        break;
                    }
                    Run(_setHead!, write.Stream!, write.Number + 1);
                    _insert!.Parameters[0].Value = write.Stream;
                    _insert.Parameters[1].Value = write.Number + 1;
                    _insert.Parameters[2].Value = write.Shard;
                    _insert.Parameters[3].Value = write.Id;
                    _insert.Parameters[4].Value = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
                    write.Result = (long)_insert.ExecuteScalar()!;
                    break;
                case LedgerWriteKind.Release:
                    Run(_delete!, write.Number);
                    Run(_restoreHead!, write.Version, write.Stream!);
                    break;
                case LedgerWriteKind.MarkStored:
                    Run(_markStored!, write.Number);
                    break;
                case LedgerWriteKind.MarkRemoved:
                    Run(_markRemoved!, write.Id!);
                    break;
            }
        }
        transaction.Commit();
        return ValueTask.CompletedTask;
    }

    private static void Run(SqliteCommand command, params ReadOnlySpan<object> values)
    {
        for (var i = 0; i < values.Length; i++) command.Parameters[i].Value = values[i];
        command.ExecuteNonQuery();
    }

    public async Task<long> HeadAsync(string stream, CancellationToken cancellationToken)
    {
        await using var connection = await OpenReadAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT version FROM heads WHERE stream = $s";
        command.Parameters.AddWithValue("$s", stream);
        return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is long version ? version : 0;
    }

    public Task<List<LedgerEntry>> ReadAsync(long afterPosition, int max, CancellationToken cancellationToken) =>
        ReadEntriesAsync("WHERE position > $a ORDER BY position LIMIT $max", null, afterPosition, max, cancellationToken);

    public Task<List<LedgerEntry>> ReadStreamAsync(string stream, long afterVersion, int max, CancellationToken cancellationToken) =>
        ReadEntriesAsync($"WHERE stream = $s AND version > $a AND state <> {LedgerState.Removed} ORDER BY version LIMIT $max", stream, afterVersion, max, cancellationToken);

    private async Task<List<LedgerEntry>> ReadEntriesAsync(string where, string? stream, long after, int max, CancellationToken cancellationToken)
    {
        await using var connection = await OpenReadAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT position, stream, version, shard, id, state, written_at FROM ledger " + where;
        if (stream is not null) command.Parameters.AddWithValue("$s", stream);
        command.Parameters.AddWithValue("$a", after);
        command.Parameters.AddWithValue("$max", max);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var entries = new List<LedgerEntry>();
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();   // one machine writes and reads this file
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            entries.Add(new LedgerEntry(reader.GetInt64(0), reader.GetString(1), reader.GetInt64(2), reader.GetInt32(3), reader.GetString(4), reader.GetInt32(5), now - reader.GetInt64(6)));
        return entries;
    }

    private async Task<SqliteConnection> OpenReadAsync(CancellationToken cancellationToken)
    {
        if (_connection is null) throw new InvalidOperationException("call InitAsync before using the store");
        var connection = new SqliteConnection(_readConnectionString);
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        return connection;
    }

    protected override ValueTask OnClosedAsync()
    {
        foreach (var command in new[] { _head, _setHead, _insert, _delete, _restoreHead, _markStored, _markRemoved }) command?.Dispose();
        _connection?.Dispose();
        _connection = null;
        SqliteConnection.ClearPool(new SqliteConnection(_readConnectionString));
        return ValueTask.CompletedTask;
    }
}
