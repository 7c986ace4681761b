using System.Data;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Npgsql;

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
internal sealed class PostgresWriter : IAsyncDisposable
{
    private readonly NpgsqlDataSource _dataSource;
    private readonly PostgresSchema _schema;
    private readonly Channel<PendingWrite> _queue;
    private readonly int _maxBatch;
    private readonly ILogger _logger;
    private readonly WriteRound _round;
    private readonly Dictionary<PendingWrite, Exception> _refused = [];
    private readonly Task _loop;
    private NpgsqlConnection? _connection;

    public PostgresWriter(NpgsqlDataSource dataSource, PostgresSchema schema, PostgresEventStoreOptions options, ILogger logger)
    {
        if (options.MaxWriteBatch < 1) throw new ArgumentOutOfRangeException(nameof(options), "MaxWriteBatch must be at least 1");
        if (options.MaxQueuedWrites < 1) throw new ArgumentOutOfRangeException(nameof(options), "MaxQueuedWrites must be at least 1");
        _dataSource = dataSource;
        _schema = schema;
        _maxBatch = options.MaxWriteBatch;
        _logger = logger;
        _round = new WriteRound(schema);
        _queue = Channel.CreateBounded<PendingWrite>(new BoundedChannelOptions(options.MaxQueuedWrites)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
        _loop = Task.Run(RunAsync);
    }

    public async Task<TResult> WriteAsync<TResult>(PendingWrite write, Task<TResult> completion, CancellationToken cancellationToken)
    {
        try
        {
            if (!_queue.Writer.TryWrite(write)) await _queue.Writer.WriteAsync(write, cancellationToken).ConfigureAwait(false);
        }
        catch (ChannelClosedException)
        {
            throw new ObjectDisposedException(nameof(PostgresEventStore));
        }
        return await completion.ConfigureAwait(false);
    }

    private async Task RunAsync()
    {
        var reader = _queue.Reader;
        var batch = new List<PendingWrite>(_maxBatch);
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            while (batch.Count < _maxBatch && reader.TryRead(out var write))
            {
                if (write.CancellationToken.IsCancellationRequested) write.Cancel();
                else batch.Add(write);
            }
            if (batch.Count > 0) await RunBatchAsync(batch).ConfigureAwait(false);
            batch.Clear();
        }
    }

    /// <summary>
    /// Commits the batch and completes its callers. Duplicates and conflicts are outcomes, not errors. A write
    /// whose decision throws (stored JSON that cannot be read) fails alone before anything is sent for it. When
    /// a statement fails on the server, nothing is committed and each write runs again in a transaction of its
    /// own, so only the one at fault fails. A lost connection or a failed COMMIT fails the whole batch.
    /// </summary>
    private async Task RunBatchAsync(List<PendingWrite> batch)
    {
        try
        {
            await CommitAsync(batch).ConfigureAwait(false);
        }
        catch (PostgresException e) when (batch.Count > 1 && _connection is { FullState: ConnectionState.Open })
        {
            PostgresLog.BatchFailed(_logger, batch.Count, e);
            var single = new List<PendingWrite>(1);
            foreach (var write in batch)
            {
                single.Add(write);
                await RunBatchAsync(single).ConfigureAwait(false);
                single.Clear();
            }
            return;
        }
        catch (Exception e)
        {
            if (batch.Count == 1) PostgresLog.WriteFailed(_logger, e);
            else PostgresLog.BatchFailed(_logger, batch.Count, e);
            foreach (var write in batch) write.Fail(e);
            await DropConnectionUnlessOpenAsync().ConfigureAwait(false);
            return;
        }
        foreach (var write in batch)
        {
            if (_refused.Remove(write, out var error))
            {
                PostgresLog.WriteFailed(_logger, error);
                write.Fail(error);
            }
            else write.Complete();
        }
    }

    /// <summary>Runs the writes in rounds (see <see cref="WriteRound"/>) inside one transaction and commits it.</summary>
    private async Task CommitAsync(List<PendingWrite> writes)
    {
        _refused.Clear();
        var connection = await ConnectionAsync().ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync().ConfigureAwait(false);
        var sequencerLock = _schema.TakeSequencerLock;   // only the first round takes it; it is held to COMMIT
        for (var start = 0; start < writes.Count;)
        {
            _round.Clear();
            var end = start;
            while (end < writes.Count && writes[end].TryJoin(_round)) end++;
            await _round.ReadAsync(connection, sequencerLock, CancellationToken.None).ConfigureAwait(false);
            sequencerLock = null;
            for (var i = start; i < end; i++)
            {
                try
                {
                    writes[i].Decide(_round);
                }
                catch (Exception e)
                {
                    _refused[writes[i]] = e;
                }
            }
            await _round.ApplyAsync(connection, CancellationToken.None).ConfigureAwait(false);
            start = end;
        }
        await transaction.CommitAsync().ConfigureAwait(false);
    }

    private async Task<NpgsqlConnection> ConnectionAsync()
    {
        if (_connection is { FullState: ConnectionState.Open }) return _connection;
        await DropConnectionUnlessOpenAsync().ConfigureAwait(false);
        return _connection = await _dataSource.OpenConnectionAsync().ConfigureAwait(false);
    }

    /// <summary>A broken connection is replaced before the next batch.</summary>
    private async Task DropConnectionUnlessOpenAsync()
    {
        var connection = _connection;
        if (connection is null || connection.FullState == ConnectionState.Open) return;
        _connection = null;
        await connection.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>Stops taking writes, commits what is queued, then closes the connection.</summary>
    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _loop.ConfigureAwait(false);
        if (_connection is { } connection) await connection.DisposeAsync().ConfigureAwait(false);
        _connection = null;
    }
}
