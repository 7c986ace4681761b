using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using NpgsqlTypes;
using NostrRelay.Protocol;
using NostrRelay.Storage.Paging;

namespace NostrRelay.Storage.Postgres;

/// <summary>
/// The event store a cluster shares: tables in one PostgreSQL schema. Each instance (each silo) writes through
/// one writer that commits queued writes in batches and completes callers after COMMIT; all instances on a
/// schema take turns through one advisory lock, so positions become visible in order (see
/// <see cref="PostgresWriter"/>). Reads use pooled connections and never wait for writers.
/// </summary>
public sealed class PostgresEventStore : IEventStore
{
    /// <summary>
    /// Rows read per query round trip. A long result is read page by page (keyset paging in NIP-01 order), so a
    /// slow consumer never holds a connection or a snapshot (which holds back VACUUM) open.
    /// </summary>
    private const int ReadPageSize = 500;

    /// <summary>Statements are prepared on the server after a few uses (Npgsql auto-prepare), up to this many per connection.</summary>
    private const int AutoPreparedStatements = 64;

    /// <summary>
    /// Connections per store instance when the connection string does not say (Npgsql's own default is 100, the
    /// whole of a default server). Past it, a read waits for a pooled connection instead of being refused by the
    /// server; a few cores gain nothing from more connections anyway.
    /// </summary>
    private const int DefaultMaxPoolSize = 20;

    private readonly PostgresEventStoreOptions _options;
    private readonly ILogger _logger;
    private readonly PostgresSchema _schema;
    private readonly NpgsqlDataSource _dataSource;
    private readonly string _readHead;
    private readonly string _readAll;
    private readonly string _readStream;
    private readonly string _readExpired;
    private readonly Lock _lifecycle = new();
    private Task? _init;
    private PostgresWriter? _writer;
    private bool _disposed;

    public PostgresEventStore(PostgresEventStoreOptions options, ILogger<PostgresEventStore>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (string.IsNullOrWhiteSpace(options.ConnectionString))
            throw new ArgumentException("the Postgres event store needs a connection string", nameof(options));
        _options = options;
        _logger = logger ?? (ILogger)NullLogger.Instance;
        _schema = new PostgresSchema(options.Schema);
        var builder = new NpgsqlDataSourceBuilder(options.ConnectionString);
        if (builder.ConnectionStringBuilder.MaxAutoPrepare == 0) builder.ConnectionStringBuilder.MaxAutoPrepare = AutoPreparedStatements;
        PostgresPool.DefaultMaxSize(builder.ConnectionStringBuilder, options.ConnectionString, DefaultMaxPoolSize);
        _dataSource = builder.Build();
        _readHead = $"SELECT version FROM {_schema.Streams} WHERE stream = $1";
        _readAll = $"SELECT position, stream, version, json FROM {_schema.Events} WHERE position > $1 ORDER BY position LIMIT $2";
        _readExpired = $"""
            SELECT e.id FROM {_schema.Expirations} x JOIN {_schema.Events} e ON e.position = x.event_position
            WHERE x.expires_at <= $1 ORDER BY x.expires_at LIMIT $2
            """;
        _readStream = $"SELECT position, version, json FROM {_schema.Events} WHERE stream = $1 AND version > $2 ORDER BY version LIMIT $3";
    }

    /// <summary>Creates or migrates the schema (once per instance; safe while other instances start too), then starts the writer.</summary>
    public Task InitAsync(CancellationToken cancellationToken = default)
    {
        lock (_lifecycle)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_init is null || _init.IsFaulted || _init.IsCanceled) _init = OpenAsync(cancellationToken);
            return _init;
        }
    }

    private async Task OpenAsync(CancellationToken cancellationToken)
    {
        await using (var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false))
        {
            if (await _schema.ApplyAsync(connection, cancellationToken).ConfigureAwait(false))
                PostgresLog.SchemaApplied(_logger, _schema.Name, PostgresSchema.Version);
        }
        lock (_lifecycle)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _writer ??= new PostgresWriter(_dataSource, _schema, _options, _logger);
        }
        var settings = new NpgsqlConnectionStringBuilder(_options.ConnectionString);
        StoreLog.Opened(_logger, "PostgreSQL", $"schema {_schema.Name} of {settings.Database} on {settings.Host}");
    }

    public Task<SaveResult> SaveAsync(NostrEvent evt, string stream, long expectedVersion, CancellationToken cancellationToken = default) =>
        Writer().SaveAsync(evt, stream, expectedVersion, replace: false, cancellationToken);

    public Task<SaveResult> ReplaceAsync(NostrEvent evt, string stream, long expectedVersion, CancellationToken cancellationToken = default) =>
        Writer().SaveAsync(evt, stream, expectedVersion, replace: true, cancellationToken);

    public Task<bool> DeleteAsync(string id, CancellationToken cancellationToken = default) =>
        Writer().DeleteAsync(id, cancellationToken);

    public IAsyncEnumerable<NostrEvent> QueryAsync(Filter filter, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(filter);
        Writer();
        if (SearchRanking.Split(filter) is (var structural, { } search)) return SearchAsync(filter, structural, search, cancellationToken);
        return KeysetPages.ReadAsync(filter, ReadPageSize, (after, take, page, ct) => ReadPageAsync(filter, after, take, page, ct), cancellationToken);
    }

    /// <summary>NIP-50 by the words table's GIN index: one ranked read, at most the filter's limit (the gateway caps it).</summary>
    public bool CanSearch => true;

    private async IAsyncEnumerable<NostrEvent> SearchAsync(Filter filter, Filter structural, SearchQuery search, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        if (filter.CannotMatch) yield break;
        var page = new List<NostrEvent>();
        await using (var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false))
        await using (var command = new NpgsqlCommand { Connection = connection })
        {
            PostgresFilterSql.Search(command, _schema, structural, search, filter.Limit ?? int.MaxValue);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                page.Add(EventReader.ParseStored(reader.GetFieldValue<byte[]>(0)));
        }
        foreach (var evt in page) yield return evt;
    }

    private async Task ReadPageAsync(Filter filter, EventCursor? after, int take, List<NostrEvent> page, CancellationToken cancellationToken)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand { Connection = connection };
        PostgresFilterSql.Select(command, _schema, filter, after, take);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            page.Add(EventReader.ParseStored(reader.GetFieldValue<byte[]>(0)));
    }

    public async Task<long> CountAsync(Filter filter, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(filter);
        Writer();
        if (filter.CannotMatch) return 0;
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand { Connection = connection };
        PostgresFilterSql.Count(command, _schema, filter);
        return (long)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
    }

    public async IAsyncEnumerable<EventKey> ReadKeysAsync(Filter filter, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(filter);
        Writer();
        if (filter.CannotMatch) yield break;
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand { Connection = connection };
        PostgresFilterSql.Keys(command, _schema, filter);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var finished = false;
        try
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                yield return new EventKey(reader.GetString(0), reader.GetString(1), reader.GetInt32(2), reader.GetInt64(3));
            finished = true;
        }
        finally
        {
            // A caller that stops early: without a cancel, disposing the reader would read every remaining row.
            if (!finished) command.Cancel();
        }
    }

    public async IAsyncEnumerable<string> ReadExpiredAsync(long now, int max, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        Writer();
        var ids = new List<string>();
        await using (var command = _dataSource.CreateCommand(_readExpired))
        {
            command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = now, NpgsqlDbType = NpgsqlDbType.Bigint });
            command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = max, NpgsqlDbType = NpgsqlDbType.Bigint });
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false)) ids.Add(reader.GetString(0));
        }
        foreach (var id in ids) yield return id;
    }

    public async Task<long> ReadStreamHeadAsync(string stream, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(stream);
        Writer();
        await using var command = _dataSource.CreateCommand(_readHead);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = stream, NpgsqlDbType = NpgsqlDbType.Text });
        return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is long version ? version : 0;
    }

    public IAsyncEnumerable<StoredEvent> ReadAllAsync(long afterPosition, int max, CancellationToken cancellationToken = default)
    {
        Writer();
        // The sequencer makes positions visible in increasing order, so a page never has a gap that fills later.
        return LogPages.ReadAsync(afterPosition, max, ReadPageSize, byVersion: false, ReadAllPageAsync, cancellationToken);
    }

    private async ValueTask ReadAllPageAsync(long afterPosition, int take, List<StoredEvent> page, CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand(_readAll);
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = afterPosition, NpgsqlDbType = NpgsqlDbType.Bigint });
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = take, NpgsqlDbType = NpgsqlDbType.Bigint });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            page.Add(new StoredEvent(EventReader.ParseStored(reader.GetFieldValue<byte[]>(3)), reader.GetString(1), reader.GetInt64(2), reader.GetInt64(0)));
    }

    /// <summary>
    /// Pages through the unique (stream, version) index: each page is one range scan of it from the last version
    /// read, so the cost follows the events read, never the size of the log.
    /// </summary>
    public IAsyncEnumerable<StoredEvent> ReadStreamAsync(string stream, long afterVersion, int max, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(stream);
        Writer();
        return LogPages.ReadAsync(afterVersion, max, ReadPageSize, byVersion: true,
            (after, take, page, ct) => ReadStreamPageAsync(stream, after, take, page, ct), cancellationToken);
    }

    private async ValueTask ReadStreamPageAsync(string stream, long afterVersion, int take, List<StoredEvent> page, CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand(_readStream);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = stream, NpgsqlDbType = NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = afterVersion, NpgsqlDbType = NpgsqlDbType.Bigint });
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = take, NpgsqlDbType = NpgsqlDbType.Bigint });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            page.Add(new StoredEvent(EventReader.ParseStored(reader.GetFieldValue<byte[]>(2)), stream, reader.GetInt64(1), reader.GetInt64(0)));
    }

    public async ValueTask DisposeAsync()
    {
        PostgresWriter? writer;
        lock (_lifecycle)
        {
            if (_disposed) return;
            _disposed = true;
            writer = _writer;
            _writer = null;
        }
        if (writer is not null) await writer.DisposeAsync().ConfigureAwait(false);
        await _dataSource.DisposeAsync().ConfigureAwait(false);
    }

    private PostgresWriter Writer()
    {
        var writer = _writer;
        if (writer is not null) return writer;
        ObjectDisposedException.ThrowIf(_disposed, this);
        throw new InvalidOperationException("call InitAsync before using the store");
    }
}
