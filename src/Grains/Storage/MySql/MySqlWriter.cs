using System.Data;
using Microsoft.Extensions.Logging;
using MySqlConnector;
using NostrRelay.Storage.Writing;

namespace NostrRelay.Storage.MySql;

/// <summary>
/// The one writer of a store instance: a loop owning one connection. It takes whatever writes are queued (up to a
/// batch), runs them in one InnoDB transaction and completes their callers after COMMIT, so a burst of concurrent
/// saves costs one redo log flush (innodb_flush_log_at_trx_commit = 1, the default, flushes before COMMIT returns).
/// </summary>
/// <remarks>
/// <para>
/// The single sequencer, as in PostgreSQL. An AUTO_INCREMENT value is handed out at insert, not at commit: with two
/// writers, the one holding position 7 may commit after the one holding 8, and a bookmark consumer that read up to 8
/// in between would never see 7. So every writing transaction, of every store instance on this database (every silo),
/// first locks the one row of log_position (<c>SELECT ... FOR UPDATE</c>), draws its positions from it, writes the
/// last one back and holds the lock until COMMIT. InnoDB makes a commit visible before it releases the
/// transaction's locks, so positions become visible in increasing order and a reader that saw a position has seen
/// every lower one that will ever exist. Deleted positions are never drawn again: the row only grows.
/// </para>
/// <para>
/// The transaction reads at READ COMMITTED, so its checks (duplicate id, stream head, address holders) see every
/// commit made before it took the lock. The cost is PostgreSQL's: writing transactions on one database run one at a
/// time across the cluster, each a whole batch per flush.
/// </para>
/// </remarks>
internal sealed class MySqlWriter(MySqlDataSource dataSource, MySqlSchema schema, MySqlEventStoreOptions options, ILogger logger)
    : ReadAheadWriter("MariaDB", options.MaxWriteBatch, options.MaxQueuedWrites, logger)
{
    private readonly MySqlDataSource _dataSource = dataSource;
    private readonly MySqlWriteRound _round = new(schema);
    private readonly string _takeSequencer = $"SELECT last FROM {schema.Quoted}.log_position WHERE id = 1 FOR UPDATE";
    private readonly string _storeSequencer = $"UPDATE {schema.Quoted}.log_position SET last = @last WHERE id = 1";
    private MySqlConnection? _connection;

    /// <summary>The content's words as full-text tokens, made on the caller's thread.</summary>
    protected override string? SearchWordsFor(NostrRelay.Protocol.NostrEvent evt) => MySqlKeys.SearchTokens(evt.Content);

    protected override bool IsStatementFailure(Exception error) => error is MySqlException && _connection is { State: ConnectionState.Open };

    protected override Task OnBatchLostAsync() => DropConnectionUnlessOpenAsync();

    /// <summary>Takes the sequencer, runs the writes in rounds (see <see cref="MySqlWriteRound"/>), stores the last position drawn and commits.</summary>
    protected override async Task CommitAsync(List<StoreWrite> writes)
    {
        var connection = await ConnectionAsync().ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(IsolationLevel.ReadCommitted).ConfigureAwait(false);
        long drawn;
        await using (var take = new MySqlCommand(_takeSequencer, connection, transaction))
            drawn = Convert.ToInt64(await take.ExecuteScalarAsync().ConfigureAwait(false), System.Globalization.CultureInfo.InvariantCulture);
        _round.LastPosition = drawn;
        await RunRoundsAsync(writes, _round,
            () => _round.ReadAsync(connection, transaction, CancellationToken.None),
            () => _round.ApplyAsync(connection, transaction, CancellationToken.None)).ConfigureAwait(false);
        if (_round.LastPosition != drawn)
        {
            await using var store = new MySqlCommand(_storeSequencer, connection, transaction);
            store.Parameters.AddWithValue("@last", _round.LastPosition);
            await store.ExecuteNonQueryAsync().ConfigureAwait(false);
        }
        await transaction.CommitAsync().ConfigureAwait(false);
    }

    private async Task<MySqlConnection> ConnectionAsync()
    {
        if (_connection is { State: ConnectionState.Open }) return _connection;
        await DropConnectionUnlessOpenAsync().ConfigureAwait(false);
        return _connection = await _dataSource.OpenConnectionAsync().ConfigureAwait(false);
    }

    /// <summary>A broken connection is replaced before the next batch.</summary>
    private async Task DropConnectionUnlessOpenAsync()
    {
        var connection = _connection;
        if (connection is null || connection.State == ConnectionState.Open) return;
        _connection = null;
        await connection.DisposeAsync().ConfigureAwait(false);
    }

    protected override async ValueTask OnClosedAsync()
    {
        if (_connection is { } connection) await connection.DisposeAsync().ConfigureAwait(false);
        _connection = null;
    }
}
