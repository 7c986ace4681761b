using System.Runtime.CompilerServices;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using MySqlConnector;
using NostrRelay.Protocol;
using NostrRelay.Storage.Paging;

namespace NostrRelay.Storage.MySql;

/// <summary>
/// The event store a cluster shares on MariaDB (10.8 or later: it reads descending indexes; MySQL 8 untested): InnoDB tables
/// in one database. Each instance (each silo) writes through one writer that commits queued writes in batches and
/// completes callers after COMMIT; all instances on a database take turns through one locked row, so positions
/// become visible in order (see <see cref="MySqlWriter"/>). Reads use pooled connections and never wait for writers.
/// </summary>
public sealed class MySqlEventStore : IEventStore
{
    /// <summary>Rows read per query round trip: a long result is read page by page (keyset paging in NIP-01 order).</summary>
    private const int ReadPageSize = 500;

    /// <summary>Connections per store instance when the connection string does not say (MySqlConnector's own default is 100).</summary>
    private const int DefaultMaxPoolSize = 20;

    private readonly MySqlEventStoreOptions _options;
    private readonly ILogger _logger;
    private readonly MySqlSchema _schema;
    private readonly MySqlDataSource _dataSource;
    private readonly string _serverOnly;
    private readonly string _readHead;
    private readonly string _readAll;
    private readonly string _readStream;
    private readonly string _readExpired;
    private readonly Lock _lifecycle = new();
    private Task? _init;
    private MySqlWriter? _writer;
    private bool _disposed;

    public MySqlEventStore(MySqlEventStoreOptions options, ILogger<MySqlEventStore>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (string.IsNullOrWhiteSpace(options.ConnectionString))
            throw new ArgumentException("the MariaDB event store needs a connection string", nameof(options));
        _options = options;
        _logger = logger ?? (ILogger)NullLogger.Instance;
        _schema = new MySqlSchema(options.Database);
        var settings = new MySqlConnectionStringBuilder(options.ConnectionString);
        var given = new System.Data.Common.DbConnectionStringBuilder { ConnectionString = options.ConnectionString };
        if (!given.ContainsKey("Maximum Pool Size") && !given.ContainsKey("Max Pool Size") && !given.ContainsKey("MaximumPoolSize") && !given.ContainsKey("MaxPoolSize"))
            settings.MaximumPoolSize = DefaultMaxPoolSize;
        settings.Database = "";
        settings.Pooling = false;   // used once, at init
        _serverOnly = settings.ConnectionString;
        settings.Pooling = true;
        settings.Database = options.Database;
        _dataSource = new MySqlDataSource(settings.ConnectionString);
        var db = _schema.Quoted;
        _readHead = $"SELECT version FROM {db}.streams WHERE stream = ?";
        _readAll = $"SELECT position, stream, version, json FROM {db}.events WHERE position > ? ORDER BY position LIMIT ?";
        _readExpired = $"""
            SELECT STRAIGHT_JOIN e.id FROM {db}.expirations x JOIN {db}.events e ON e.position = x.event_position
            WHERE x.expires_at <= ? ORDER BY x.expires_at LIMIT ?
            """;
        _readStream = $"SELECT position, version, json FROM {db}.events WHERE stream = ? AND version > ? ORDER BY version LIMIT ?";
    }

    /// <summary>Creates or migrates the database (once per instance; safe while other instances start too), then starts the writer.</summary>
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
        await using (var connection = new MySqlConnection(_serverOnly))
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            if (await _schema.ApplyAsync(connection, cancellationToken).ConfigureAwait(false))
                MySqlLog.SchemaApplied(_logger, _schema.Name, MySqlSchema.Version);
        }
        lock (_lifecycle)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _writer ??= new MySqlWriter(_dataSource, _schema, _options, _logger);
        }
        var settings = new MySqlConnectionStringBuilder(_options.ConnectionString);
        StoreLog.Opened(_logger, "MariaDB", $"database {_schema.Name} on {settings.Server}");
    }

    public Task<SaveResult> SaveAsync(NostrEvent evt, string stream, long expectedVersion, CancellationToken cancellationToken = default) =>
        Writer().SaveAsync(Checked(evt), stream, expectedVersion, replace: false, cancellationToken);

    public Task<SaveResult> ReplaceAsync(NostrEvent evt, string stream, long expectedVersion, CancellationToken cancellationToken = default) =>
        Writer().SaveAsync(Checked(evt), stream, expectedVersion, replace: true, cancellationToken);

    /// <summary>
    /// The writer puts an event's id and pubkey into its SQL as hex literals, so they must be hex: the relay's parser
    /// makes sure of it, but an embedder may hand the store an event it built.
    /// </summary>
    private static NostrEvent Checked(NostrEvent evt)
    {
        ArgumentNullException.ThrowIfNull(evt);
        if (!Hex.IsLowerHex(evt.Id, 64) || !Hex.IsLowerHex(evt.Pubkey, 64))
            throw new ArgumentException("an event's id and pubkey are 64 lowercase hex digits", nameof(evt));
        return evt;
    }

    public Task<bool> DeleteAsync(string id, CancellationToken cancellationToken = default) =>
        Writer().DeleteAsync(id, cancellationToken);

    public IAsyncEnumerable<NostrEvent> QueryAsync(Filter filter, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(filter);
        Writer();
        if (SearchRanking.Split(filter) is (var structural, { } search)) return SearchAsync(filter, structural, search, cancellationToken);
        return KeysetPages.ReadAsync(filter, ReadPageSize, (after, take, page, ct) => ReadPageAsync(filter, after, take, page, ct), cancellationToken);
    }

    /// <summary>NIP-50 by the words table's full-text index; the candidates are ranked here, as the stores without an engine rank.</summary>
    public bool CanSearch => true;

    private async IAsyncEnumerable<NostrEvent> SearchAsync(Filter filter, Filter structural, SearchQuery search, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        if (filter.CannotMatch || filter.Limit is <= 0) yield break;
        var candidates = new List<NostrEvent>();
        await using (var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false))
        await using (var command = new MySqlCommand { Connection = connection })
        {
            MySqlFilterSql.SearchCandidates(command, _schema, structural, search);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                candidates.Add(EventReader.ParseStored(reader.GetFieldValue<byte[]>(0)));
        }
        foreach (var evt in SearchRanking.Best(candidates, search, filter.Limit ?? int.MaxValue)) yield return evt;
    }

    private async Task ReadPageAsync(Filter filter, EventCursor? after, int take, List<NostrEvent> page, CancellationToken cancellationToken)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new MySqlCommand { Connection = connection };
        MySqlFilterSql.Select(command, _schema, filter, after, take);
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
        await using var command = new MySqlCommand { Connection = connection };
        MySqlFilterSql.Count(command, _schema, filter);
        return Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false), System.Globalization.CultureInfo.InvariantCulture);
    }

    public async IAsyncEnumerable<EventKey> ReadKeysAsync(Filter filter, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(filter);
        Writer();
        if (filter.CannotMatch) yield break;
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new MySqlCommand { Connection = connection };
        MySqlFilterSql.Keys(command, _schema, filter);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var finished = false;
        try
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                yield return new EventKey(MySqlKeys.ToHex(reader.GetFieldValue<byte[]>(0)), MySqlKeys.ToHex(reader.GetFieldValue<byte[]>(1)),
                    reader.GetInt32(2), reader.GetInt64(3));
            }
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
        await using (var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false))
        await using (var command = new MySqlCommand(_readExpired, connection))
        {
            command.Parameters.Add(new MySqlParameter { Value = now });
            command.Parameters.Add(new MySqlParameter { Value = max });
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false)) ids.Add(MySqlKeys.ToHex(reader.GetFieldValue<byte[]>(0)));
        }
        foreach (var id in ids) yield return id;
    }

    public async Task<long> ReadStreamHeadAsync(string stream, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(stream);
        Writer();
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new MySqlCommand(_readHead, connection);
        command.Parameters.Add(new MySqlParameter { Value = MySqlKeys.Stream(stream) });
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
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new MySqlCommand(_readAll, connection);
        command.Parameters.Add(new MySqlParameter { Value = afterPosition });
        command.Parameters.Add(new MySqlParameter { Value = take });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            page.Add(new StoredEvent(EventReader.ParseStored(reader.GetFieldValue<byte[]>(3)), Encoding.UTF8.GetString(reader.GetFieldValue<byte[]>(1)),
                reader.GetInt64(2), reader.GetInt64(0)));
        }
    }

    /// <summary>Pages through the unique (stream, version) index, each page one range of it from the last version read.</summary>
    public IAsyncEnumerable<StoredEvent> ReadStreamAsync(string stream, long afterVersion, int max, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(stream);
        Writer();
        return LogPages.ReadAsync(afterVersion, max, ReadPageSize, byVersion: true,
            (after, take, page, ct) => ReadStreamPageAsync(stream, after, take, page, ct), cancellationToken);
    }

    private async ValueTask ReadStreamPageAsync(string stream, long afterVersion, int take, List<StoredEvent> page, CancellationToken cancellationToken)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new MySqlCommand(_readStream, connection);
        command.Parameters.Add(new MySqlParameter { Value = MySqlKeys.Stream(stream) });
        command.Parameters.Add(new MySqlParameter { Value = afterVersion });
        command.Parameters.Add(new MySqlParameter { Value = take });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            page.Add(new StoredEvent(EventReader.ParseStored(reader.GetFieldValue<byte[]>(2)), stream, reader.GetInt64(1), reader.GetInt64(0)));
    }

    public async ValueTask DisposeAsync()
    {
        MySqlWriter? writer;
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

    private MySqlWriter Writer()
    {
        var writer = _writer;
        if (writer is not null) return writer;
        ObjectDisposedException.ThrowIf(_disposed, this);
        throw new InvalidOperationException("call InitAsync before using the store");
    }
}
