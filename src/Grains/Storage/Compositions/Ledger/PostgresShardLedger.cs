using System.Buffers.Binary;
using System.Data;
using System.Security.Cryptography;
using System.Text;
using Npgsql;
using NostrRelay.Storage.Postgres;
using NpgsqlTypes;

namespace NostrRelay.Storage.Compositions.Ledger;

/// <summary>
/// The ledger in PostgreSQL, which every silo of a cluster shares, so a cluster can shard: tables <c>ledger</c> and
/// <c>ledger_heads</c> in one schema. Each silo's writer sends a group of ledger writes as one batch of statements in one
/// transaction. As the Postgres store's writers do, every writing transaction first takes one advisory lock per schema
/// and holds it to COMMIT, so positions (an identity) become visible in order across silos and a reader never passes
/// one that commits late; a reservation's head check runs under the same lock, so two silos never both take a version.
/// </summary>
internal sealed class PostgresShardLedger : LedgerWriter, IShardLedger
{
    private const int SequencerLockClass = 0x4E_52_4C_47;   // "NRLG"

    /// <summary>The database's clock in milliseconds: silos' clocks may differ, and the in-flight window compares ages.</summary>
    private const string DatabaseNow = "(extract(epoch from clock_timestamp()) * 1000)::bigint";

    private readonly NpgsqlDataSource _dataSource;
    private readonly string _quoted;
    private readonly string _takeLock;
    private readonly string _reserve, _release, _markStored, _markRemoved;
    private NpgsqlConnection? _connection;
    private bool _started;

    public PostgresShardLedger(string connectionString, string schema)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        ArgumentException.ThrowIfNullOrWhiteSpace(schema);
        // The writer holds one connection and reads are short: a small pool unless the string says otherwise.
        var builder = new NpgsqlDataSourceBuilder(connectionString);
        PostgresPool.DefaultMaxSize(builder.ConnectionStringBuilder, connectionString, 8);
        _dataSource = builder.Build();
        _quoted = "\"" + schema.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
        var objectKey = BinaryPrimitives.ReadInt32BigEndian(SHA256.HashData(Encoding.UTF8.GetBytes(schema)));
        _takeLock = $"SELECT pg_advisory_xact_lock({SequencerLockClass}, {objectKey})";
        // One statement per ledger write, each answering one row (Npgsql gives no result set to a statement without
        // columns, so a batch's answers line up with its writes only when every statement has one). A reservation reads,
        // checks and moves the head and inserts the entry, or does nothing and answers NULL.
        _reserve = $"""
            WITH head AS (SELECT coalesce((SELECT version FROM {_quoted}.ledger_heads WHERE stream = $1), 0) AS version),
            moved AS (
                INSERT INTO {_quoted}.ledger_heads (stream, version) SELECT $1, $2 + 1 FROM head WHERE head.version = $2
                ON CONFLICT (stream) DO UPDATE SET version = excluded.version),
            entry AS (
                INSERT INTO {_quoted}.ledger (stream, version, shard, id, state, written_at)
                SELECT $1, $2 + 1, $3, $4, {LedgerState.Pending}, {DatabaseNow} FROM head WHERE head.version = $2
                RETURNING position)
            SELECT (SELECT position FROM entry)
            """;
        _release = $"""
            WITH gone AS (DELETE FROM {_quoted}.ledger WHERE position = $1),
            head AS (UPDATE {_quoted}.ledger_heads SET version = $3 WHERE stream = $2 AND version = $3 + 1)
            SELECT NULL::bigint
            """;
        _markStored = $"WITH marked AS (UPDATE {_quoted}.ledger SET state = {LedgerState.Stored} WHERE position = $1) SELECT NULL::bigint";
        _markRemoved = $"WITH marked AS (UPDATE {_quoted}.ledger SET state = {LedgerState.Removed} WHERE id = $1 AND state = {LedgerState.Stored}) SELECT NULL::bigint";
    }

    public async Task InitAsync(CancellationToken cancellationToken)
    {
        if (_started) return;
        await using (var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false))
        await using (var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false))
        {
            // Under the sequencer lock: CREATE ... IF NOT EXISTS is not safe against a twin running at the same moment.
            await using (var take = new NpgsqlCommand(_takeLock, connection, transaction))
                await take.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            await using (var create = new NpgsqlCommand($"""
                CREATE SCHEMA IF NOT EXISTS {_quoted};
                CREATE TABLE IF NOT EXISTS {_quoted}.ledger (
                    position   bigint  GENERATED ALWAYS AS IDENTITY (CACHE 1) PRIMARY KEY,
                    stream     text    COLLATE "C" NOT NULL,
                    version    bigint  NOT NULL,
                    shard      integer NOT NULL,
                    id         text    COLLATE "C" NOT NULL,
                    state      integer NOT NULL,
                    written_at bigint  NOT NULL,
                    UNIQUE (stream, version));
                CREATE INDEX IF NOT EXISTS ledger_id ON {_quoted}.ledger (id);
                CREATE TABLE IF NOT EXISTS {_quoted}.ledger_heads (stream text COLLATE "C" PRIMARY KEY, version bigint NOT NULL);
                """, connection, transaction))
                await create.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        }
        _started = true;
        Start();
    }

    public Task<long?> ReserveAsync(string stream, long expectedVersion, int shard, string id) => WriteAsync(LedgerWrite.Reserve(stream, expectedVersion, shard, id));

    public Task ReleaseAsync(long position, string stream, long expectedVersion) => WriteAsync(LedgerWrite.Release(position, stream, expectedVersion));

    public Task MarkStoredAsync(long position) => WriteAsync(LedgerWrite.MarkStored(position));

    public Task MarkRemovedAsync(string id) => WriteAsync(LedgerWrite.MarkRemoved(id));

    /// <summary>The lock, then every write's statements in order, in one round trip; each reservation's result set says its position.</summary>
    protected override async ValueTask CommitAsync(List<LedgerWrite> batch)
    {
        try
        {
            var connection = _connection is { FullState: ConnectionState.Open } open ? open : _connection = await _dataSource.OpenConnectionAsync().ConfigureAwait(false);
            await using var transaction = await connection.BeginTransactionAsync().ConfigureAwait(false);
            await using var statements = new NpgsqlBatch(connection, transaction);
            statements.BatchCommands.Add(new NpgsqlBatchCommand(_takeLock));
            foreach (var write in batch)
            {
                switch (write.Kind)
                {
                    case LedgerWriteKind.Reserve:
                        statements.BatchCommands.Add(Command(_reserve, Text(write.Stream!), Bigint(write.Number), new NpgsqlParameter<int> { TypedValue = write.Shard },
                            Text(write.Id!)));
                        break;
                    case LedgerWriteKind.Release:
                        statements.BatchCommands.Add(Command(_release, Bigint(write.Number), Text(write.Stream!), Bigint(write.Version)));
                        break;
                    case LedgerWriteKind.MarkStored:
                        statements.BatchCommands.Add(Command(_markStored, Bigint(write.Number)));
                        break;
                    case LedgerWriteKind.MarkRemoved:
                        statements.BatchCommands.Add(Command(_markRemoved, Text(write.Id!)));
                        break;
                }
            }
            await using (var reader = await statements.ExecuteReaderAsync().ConfigureAwait(false))
            {
                await reader.NextResultAsync().ConfigureAwait(false);   // past the lock
                foreach (var write in batch)
                {
                    if (!await reader.ReadAsync().ConfigureAwait(false)) throw new InvalidOperationException("a ledger statement answered no row");
                    write.Result = reader.IsDBNull(0) ? null : reader.GetInt64(0);
                    await reader.NextResultAsync().ConfigureAwait(false);
                }
            }
            await transaction.CommitAsync().ConfigureAwait(false);
        }
        catch
        {
            if (_connection is { FullState: not ConnectionState.Open } broken)
            {
                _connection = null;
                await broken.DisposeAsync().ConfigureAwait(false);
            }
            throw;
        }
    }

    private static NpgsqlBatchCommand Command(string sql, params ReadOnlySpan<NpgsqlParameter> parameters)
    {
        var command = new NpgsqlBatchCommand(sql);
        foreach (var parameter in parameters) command.Parameters.Add(parameter);
        return command;
    }

    private static NpgsqlParameter<string> Text(string value) => new() { TypedValue = value, NpgsqlDbType = NpgsqlDbType.Text };

    private static NpgsqlParameter<long> Bigint(long value) => new() { TypedValue = value, NpgsqlDbType = NpgsqlDbType.Bigint };

    public async Task<long> HeadAsync(string stream, CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand($"SELECT version FROM {_quoted}.ledger_heads WHERE stream = $1");
        command.Parameters.Add(Text(stream));
        return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is long version ? version : 0;
    }

    public Task<List<LedgerEntry>> ReadAsync(long afterPosition, int max, CancellationToken cancellationToken) =>
        ReadEntriesAsync("WHERE position > $1 ORDER BY position LIMIT $2", null, afterPosition, max, cancellationToken);

    public Task<List<LedgerEntry>> ReadStreamAsync(string stream, long afterVersion, int max, CancellationToken cancellationToken) =>
        ReadEntriesAsync($"WHERE stream = $3 AND version > $1 AND state <> {LedgerState.Removed} ORDER BY version LIMIT $2", stream, afterVersion, max, cancellationToken);

    private async Task<List<LedgerEntry>> ReadEntriesAsync(string where, string? stream, long after, int max, CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand($"SELECT position, stream, version, shard, id, state, {DatabaseNow} - written_at FROM {_quoted}.ledger " + where);
        command.Parameters.Add(Bigint(after));
        command.Parameters.Add(Bigint(max));
        if (stream is not null) command.Parameters.Add(Text(stream));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var entries = new List<LedgerEntry>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            entries.Add(new LedgerEntry(reader.GetInt64(0), reader.GetString(1), reader.GetInt64(2), reader.GetInt32(3), reader.GetString(4), reader.GetInt32(5), reader.GetInt64(6)));
        return entries;
    }

    protected override async ValueTask OnClosedAsync()
    {
        if (_connection is { } connection) await connection.DisposeAsync().ConfigureAwait(false);
        _connection = null;
        await _dataSource.DisposeAsync().ConfigureAwait(false);
    }
}
