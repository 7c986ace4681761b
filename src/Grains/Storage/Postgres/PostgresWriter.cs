using System.Data;
using Microsoft.Extensions.Logging;
using Npgsql;
using NostrRelay.Storage.Writing;

namespace NostrRelay.Storage.Postgres;

/// <summary>
/// The one writer of a store instance: a loop owning one connection. It takes whatever writes are queued (up to
/// a batch), runs them in one transaction and completes their callers after COMMIT, so a burst of concurrent
/// saves costs one WAL flush (synchronous_commit as the server has it; PostgreSQL's default flushes before
/// COMMIT returns, so a returned save is durable).
/// </summary>
/// <remarks>
/// <para>
/// The single sequencer. Positions come from a sequence, and a sequence hands out numbers when they are drawn,
/// not when they commit: with two writers, the one holding position 7 may commit after the one holding 8, and
/// a bookmark consumer that read up to 8 in between would never see 7. So every writing transaction, of every
/// store instance on this schema (every silo), first takes one advisory lock (<see cref="PostgresSchema.TakeSequencerLock"/>),
/// draws its positions after it, and holds it until COMMIT. PostgreSQL makes a commit visible before it
/// releases the transaction's locks, so positions become visible in increasing order and a reader that saw a
/// position has seen every lower one that will ever exist.
/// </para>
/// <para>
/// The cost: writing transactions on one schema run one at a time across the cluster, each holding the lock
/// through its WAL flush. Group commit keeps that cheap for one instance (a whole batch per flush); with several
/// instances they take turns, so cluster-wide write throughput is about one batch per commit latency, and a
/// write waits behind the batches of other silos. The checks (duplicate id, stream head, address holders) run
/// under the same lock, so they never race with another silo's writer either. The alternative, letting writers
/// commit in parallel and having readers hold back at the oldest open transaction (gap detection with a
/// visibility window), scales writes but puts that subtlety into every reader; a relay's write rate fits one
/// sequencer.
/// </para>
/// </remarks>
internal sealed class PostgresWriter(NpgsqlDataSource dataSource, PostgresSchema schema, PostgresEventStoreOptions options, ILogger logger)
    : ReadAheadWriter("PostgreSQL", options.MaxWriteBatch, options.MaxQueuedWrites, logger)
{
    private readonly NpgsqlDataSource _dataSource = dataSource;
    private readonly PostgresSchema _schema = schema;
    private readonly WriteRound _round = new(schema);
    private NpgsqlConnection? _connection;

    /// <summary>The words table's lexemes, each once (a tsvector holds a lexeme once).</summary>
    protected override string? SearchWordsFor(NostrRelay.Protocol.NostrEvent evt) => NostrRelay.Protocol.SearchQuery.IndexText(evt.Content, distinct: true);

    protected override bool IsStatementFailure(Exception error) => error is PostgresException && _connection is { FullState: ConnectionState.Open };

    protected override Task OnBatchLostAsync() => DropConnectionUnlessOpenAsync();

    /// <summary>Runs the writes in rounds (see <see cref="WriteRound"/>) inside one transaction and commits it.</summary>
    protected override async Task CommitAsync(List<StoreWrite> writes)
    {
        var connection = await ConnectionAsync().ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync().ConfigureAwait(false);
        var sequencerLock = _schema.TakeSequencerLock;   // only the first round takes it; it is held to COMMIT
        await RunRoundsAsync(writes, _round,
            async () =>
            {
                await _round.ReadAsync(connection, sequencerLock, CancellationToken.None).ConfigureAwait(false);
                sequencerLock = null;
            },
            () => _round.ApplyAsync(connection, CancellationToken.None)).ConfigureAwait(false);
        await transaction.CommitAsync().ConfigureAwait(false);
    }

    private async Task<NpgsqlConnection> ConnectionAsync()
    {
        if (_connection is { FullState: ConnectionState.Open }) return _connection;
        await DropConnectionUnlessOpenAsync().ConfigureAwait(false);
        var connection = await _dataSource.OpenConnectionAsync().ConfigureAwait(false);
        try
        {
            await using var command = new NpgsqlCommand(KeyedLookupsOnly, connection);
            await command.ExecuteNonQueryAsync().ConfigureAwait(false);
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);   // back to the pool, not held by a writer that failed to start
            throw;
        }
        return _connection = connection;
    }

    /// <summary>
    /// Every read of a write round looks rows up by key (ids, addresses, stream names, tag values), so a scan of a
    /// whole table is never the right plan for it. PostgreSQL may pick one anyway: a statement prepared while the
    /// tables were small keeps a generic plan costed for a few pages, and the default page costs (made for disks)
    /// favour scanning a table of tens of thousands of rows over a few hundred index probes. Each such round then
    /// read the whole events table: ingest on a new store ran at a quarter of its speed until autovacuum's next
    /// ANALYZE. This session's planner is told to take an index wherever there is one.
    /// </summary>
    private const string KeyedLookupsOnly = "SET enable_seqscan = off";

    /// <summary>A broken connection is replaced before the next batch.</summary>
    private async Task DropConnectionUnlessOpenAsync()
    {
        var connection = _connection;
        if (connection is null || connection.FullState == ConnectionState.Open) return;
        _connection = null;
        await connection.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>Closes the connection once the queued writes are committed.</summary>
    protected override async ValueTask OnClosedAsync()
    {
        if (_connection is { } connection) await connection.DisposeAsync().ConfigureAwait(false);
        _connection = null;
    }
}
