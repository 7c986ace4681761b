using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace NostrRelay.Storage.Sqlite;

/// <summary>
/// Copies committed WAL pages into the database file on its own connection, beside the writer. A PASSIVE
/// checkpoint never blocks the writer or readers; it copies what no reader still needs. The writer's own
/// checkpoint (every 4,000 pages) then finds little left to copy, which keeps commit latency flat, and it
/// is the one that lets the WAL start over (see SqliteSchema).
/// </summary>
internal sealed class SqliteCheckpointer : IAsyncDisposable
{
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(500);

    private readonly SqliteConnection _connection;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    public SqliteCheckpointer(string path, ILogger logger)
    {
        _logger = logger;
        _connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadWrite, Pooling = false }.ToString());
        try
        {
            _connection.Open();
            using var pragma = _connection.CreateCommand();
            pragma.CommandText = "PRAGMA busy_timeout = 5000; PRAGMA synchronous = FULL;";
            pragma.ExecuteNonQuery();
        }
        catch
        {
            _connection.Dispose();
            throw;
        }
        _loop = Task.Factory.StartNew(RunAsync, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap();
    }

    private async Task RunAsync()
    {
        using var timer = new PeriodicTimer(Interval);
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token).ConfigureAwait(false)) Checkpoint("PASSIVE");
        }
        catch (OperationCanceledException)
        {
        }
    }

    private void Checkpoint(string mode)
    {
        try
        {
            using var command = _connection.CreateCommand();
            command.CommandText = $"PRAGMA wal_checkpoint({mode});";
            command.ExecuteNonQuery();
        }
        catch (SqliteException ex)
        {
            SqliteLog.CheckpointFailed(_logger, ex);
        }
    }

    /// <summary>Called after the writer closed: folds the whole WAL into the file and empties it.</summary>
    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        await _loop.ConfigureAwait(false);
        Checkpoint("TRUNCATE");
        await _connection.DisposeAsync().ConfigureAwait(false);
    }
}
