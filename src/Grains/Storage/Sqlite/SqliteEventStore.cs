using System.Runtime.CompilerServices;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using NostrRelay.Protocol;

namespace NostrRelay.Storage.Sqlite;

/// <summary>
/// The embedded event store: one SQLite file in WAL mode. All writes go through one writer thread that commits
/// them in batches (one fsync per batch, synchronous=FULL, so a returned save is durable); reads use pooled
/// read-only connections, which WAL never blocks behind the writer.
/// </summary>
public sealed class SqliteEventStore : IEventStore
{
    /// <summary>
    /// Rows read per query round trip. A long result is read page by page (keyset paging in NIP-01 order), so
    /// a slow consumer never holds a read snapshot open, which would stop WAL checkpoints.
    /// </summary>
    private const int ReadPageSize = 500;

    private readonly SqliteEventStoreOptions _options;
    private readonly ILogger _logger;
    private readonly string _path;
    private readonly string _readConnectionString;
    private readonly Lock _lifecycle = new();
    private SqliteWriter? _writer;
    private bool _disposed;

    public SqliteEventStore(SqliteEventStoreOptions options, ILogger<SqliteEventStore>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrWhiteSpace(options.Path);
        _options = options;
        _logger = logger ?? (ILogger)NullLogger.Instance;
        _path = System.IO.Path.GetFullPath(options.Path);
        _readConnectionString = new SqliteConnectionStringBuilder
        {
            DataSource = _path,
            Mode = SqliteOpenMode.ReadOnly,
            Pooling = true,
        }.ToString();
    }

    public Task InitAsync(CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_lifecycle)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_writer is not null) return Task.CompletedTask;
            var directory = System.IO.Path.GetDirectoryName(_path);
            if (!string.IsNullOrEmpty(directory)) Directory.CreateDirectory(directory);
            var connection = new SqliteConnection(new SqliteConnectionStringBuilder
            {
                DataSource = _path,
                Mode = SqliteOpenMode.ReadWriteCreate,
                Pooling = false,
            }.ToString());
            try
            {
                connection.Open();
                SqliteSchema.Apply(connection);
                _writer = new SqliteWriter(connection, _options, _logger);
            }
            catch
            {
                connection.Dispose();
                throw;
            }
        }
        SqliteLog.Opened(_logger, _path);
        return Task.CompletedTask;
    }

    public Task<SaveResult> SaveAsync(NostrEvent evt, string stream, long expectedVersion, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(evt);
        ArgumentNullException.ThrowIfNull(stream);
        var write = new PendingSave(evt, stream, expectedVersion, replace: false, cancellationToken);
        return Writer().WriteAsync(write, write.Task, cancellationToken);
    }

    public Task<SaveResult> ReplaceAsync(NostrEvent evt, string stream, long expectedVersion, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(evt);
        ArgumentNullException.ThrowIfNull(stream);
        if (evt.Address is null) throw new ArgumentException("only replaceable and addressable events are replaced", nameof(evt));
        var write = new PendingSave(evt, stream, expectedVersion, replace: true, cancellationToken);
        return Writer().WriteAsync(write, write.Task, cancellationToken);
    }

    public Task<bool> DeleteAsync(string id, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(id);
        var write = new PendingDelete(id, cancellationToken);
        return Writer().WriteAsync(write, write.Task, cancellationToken);
    }

    public async IAsyncEnumerable<NostrEvent> QueryAsync(Filter filter, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(filter);
        Writer();
        if (filter.CannotMatch || filter.Limit is <= 0) yield break;
        var remaining = filter.Limit ?? int.MaxValue;
        var page = new List<NostrEvent>(Math.Min(remaining, ReadPageSize));
        EventCursor? after = null;
        while (remaining > 0)
        {
            var take = Math.Min(remaining, ReadPageSize);
            page.Clear();
            await using (var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false))
            await using (var command = connection.CreateCommand())
            {
                SqliteFilterSql.Select(command, filter, after, take);
                await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                    page.Add(EventReader.ParseStored(reader.GetFieldValue<byte[]>(0)));
            }
            // The connection is back in the pool before the consumer sees the page.
            foreach (var evt in page) yield return evt;
            if (page.Count < take) yield break;
            remaining -= page.Count;
            var last = page[^1];
            after = new EventCursor(last.CreatedAt, last.Id);
        }
    }

    public async Task<long> CountAsync(Filter filter, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(filter);
        Writer();
        if (filter.CannotMatch) return 0;
        await using var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        SqliteFilterSql.Count(command, filter);
        return (long)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
    }

    public async Task<long> ReadStreamHeadAsync(string stream, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(stream);
        Writer();
        await using var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT version FROM streams WHERE stream = $stream;";
        command.Parameters.AddWithValue("$stream", stream);
        return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is long version ? version : 0;
    }

    public async IAsyncEnumerable<StoredEvent> ReadAllAsync(long afterPosition, int max, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        Writer();
        // One writer commits positions in increasing order, so a reader never sees a gap that fills later.
        var remaining = max;
        var page = new List<StoredEvent>(Math.Clamp(max, 0, ReadPageSize));
        while (remaining > 0)
        {
            var take = Math.Min(remaining, ReadPageSize);
            page.Clear();
            await using (var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false))
            await using (var command = connection.CreateCommand())
            {
                command.CommandText = """
                    SELECT position, stream, version, json FROM events
                    WHERE position > $after ORDER BY position LIMIT $take;
                    """;
                command.Parameters.AddWithValue("$after", afterPosition);
                command.Parameters.AddWithValue("$take", take);
                await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    page.Add(new StoredEvent(EventReader.ParseStored(reader.GetFieldValue<byte[]>(3)),
                        reader.GetString(1), reader.GetInt64(2), reader.GetInt64(0)));
                }
            }
            foreach (var stored in page) yield return stored;
            if (page.Count < take) yield break;
            remaining -= page.Count;
            afterPosition = page[^1].Position;
        }
    }

    public async ValueTask DisposeAsync()
    {
        SqliteWriter? writer;
        lock (_lifecycle)
        {
            if (_disposed) return;
            _disposed = true;
            writer = _writer;
            _writer = null;
        }
        if (writer is not null) await writer.DisposeAsync().ConfigureAwait(false);
        // Pooled readers keep the file open; release them with the store.
        using var pooled = new SqliteConnection(_readConnectionString);
        SqliteConnection.ClearPool(pooled);
    }

    private SqliteWriter Writer()
    {
        var writer = _writer;
        if (writer is not null) return writer;
        ObjectDisposedException.ThrowIf(_disposed, this);
        throw new InvalidOperationException("call InitAsync before using the store");
    }

    private async Task<SqliteConnection> OpenReaderAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(_readConnectionString);
        try
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }
}
