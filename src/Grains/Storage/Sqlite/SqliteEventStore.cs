using System.Runtime.CompilerServices;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using NostrRelay.Protocol;
using NostrRelay.Storage.Paging;
using NostrRelay.Storage.Sql;

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

    /// <summary>The first time window tried for a filter no index orders (seconds); see <see cref="ReadPageAsync"/>.</summary>
    private const long FirstTimeWindow = 3_600;

    /// <summary>Past ~200 years of span, read the whole range: no window is smaller than all of history.</summary>
    private const long MaxTimeWindow = 200L * 365 * 86_400;

    private readonly SqliteEventStoreOptions _options;
    private readonly ILogger _logger;
    private readonly string _path;
    private readonly SqliteReaders _readers;
    private readonly Lock _lifecycle = new();
    private SqliteWriter? _writer;
    private SqliteCheckpointer? _checkpointer;
    private SqliteWriterLock? _writerLock;
    private bool _disposed;

    public SqliteEventStore(SqliteEventStoreOptions options, ILogger<SqliteEventStore>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrWhiteSpace(options.Path);
        _options = options;
        _logger = logger ?? (ILogger)NullLogger.Instance;
        _path = System.IO.Path.GetFullPath(options.Path);
        _readers = new SqliteReaders(_path);
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
            var writerLock = _options.ReadOnly ? null : SqliteWriterLock.Take(_path);
            var connection = new SqliteConnection(new SqliteConnectionStringBuilder
            {
                DataSource = _path,
                Mode = SqliteOpenMode.ReadWriteCreate,
                Pooling = false,
            }.ToString());
            SqliteWriter? writer = null;
            try
            {
                connection.Open();
                SqliteSchema.Apply(connection, migrate: !_options.ReadOnly);
                writer = new SqliteWriter(connection, _options, _logger);
                // A tool reading beside the relay leaves checkpoints to it: its closing TRUNCATE would hold up the relay's writer.
                var checkpointer = _options.ReadOnly ? null : new SqliteCheckpointer(_path, _logger);
                (_writer, _checkpointer, _writerLock) = (writer, checkpointer, writerLock);
            }
            catch
            {
                if (writer is not null) writer.DisposeAsync().AsTask().GetAwaiter().GetResult();   // closes the connection too
                else connection.Dispose();
                writerLock?.Dispose();
                throw;
            }
        }
        StoreLog.Opened(_logger, "SQLite", _path);
        return Task.CompletedTask;
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

    /// <summary>NIP-50 by the FTS5 index: one ranked read, at most the filter's limit (the gateway caps it at max_limit).</summary>
    public bool CanSearch => true;

    private async IAsyncEnumerable<NostrEvent> SearchAsync(Filter filter, Filter structural, SearchQuery search, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        if (filter.CannotMatch) yield break;
        await Writer().SearchableAsync(cancellationToken).ConfigureAwait(false);
        var page = new List<NostrEvent>();
        await using (var connection = _readers.Rent())
        {
            var command = connection.Command(built => SqliteFilterSql.Search(built, structural, search, filter.Limit ?? int.MaxValue));
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                page.Add(EventReader.ParseStored(reader.GetFieldValue<byte[]>(0)));
        }
        // The connection goes back before the caller sees the events.
        foreach (var evt in page) yield return evt;
    }

    /// <summary>
    /// Reads the next <paramref name="take"/> matches after <paramref name="after"/> into <paramref name="page"/>.
    /// A filter whose matches no single index yields in NIP-01 order (several values in a list, a tag
    /// condition, authors and kinds together) would make SQLite sort every match to return the newest few, so
    /// such a page is read from a growing window of time instead: from the newest stored event (or the cursor)
    /// back over a span four times larger on each try, until the window holds a full page or reaches the
    /// filter's since. Each try is an index range scan; everything outside the window is older than all of it,
    /// so a full page from the window is the true page. Work stays near the size of the page, not of all matches.
    /// A first page of one tag condition that the first two windows (the last four hours) left short counts its windows in
    /// rows of the tag index from there (<see cref="ReadTagWindowsAsync"/>).
    /// </summary>
    private async Task ReadPageAsync(Filter filter, EventCursor? after, int take, List<NostrEvent> page, CancellationToken cancellationToken)
    {
        await using var connection = _readers.Rent();
        if (filter.Limit is null || !NeedsTimeWindow(filter)
            || (after is null && await FewTagRowsAsync(connection, filter, _options.WholeSortTagRows, cancellationToken).ConfigureAwait(false)))
        {
            await ReadAsync(connection, filter, after, take, page, cancellationToken).ConfigureAwait(false);
            return;
        }
        var floor = Math.Max(filter.Since ?? 0, 0);   // NIP-01 created_at is never negative
        long anchor;
        if (after is { } cursor) anchor = cursor.CreatedAt;
        else if (await NewestCreatedAtAsync(connection, filter.Until, cancellationToken).ConfigureAwait(false) is { } newest) anchor = newest;
        else
        {
            page.Clear();
            return;
        }
        for (var span = FirstTimeWindow; ; span *= 4)
        {
            var lower = anchor - span;
            if (lower <= floor || span > MaxTimeWindow)
            {
                await ReadAsync(connection, filter, after, take, page, cancellationToken).ConfigureAwait(false);
                return;
            }
            if (span == FirstTimeWindow * 16 && after is null && filter.Tags is [var condition])
            {
                // Widened by time, the next windows jump from none of a tag's matches to all of them when its newest are
                // sparse and older ones dense; widened by its rows, each reads a bounded part of them.
                await ReadTagWindowsAsync(connection, filter, condition, take, shortSince: anchor - span / 4, page, cancellationToken).ConfigureAwait(false);
                return;
            }
            await ReadAsync(connection, filter with { Since = lower }, after, take, page, cancellationToken).ConfigureAwait(false);
            if (page.Count == take) return;
        }
    }

    /// <summary>
    /// The first page of a filter with one tag condition whose newest hours held no page, from windows of that tag's newest
    /// index rows: a page's worth, then four times as many on each try (sixteen after a window with no match), each window
    /// reaching back to the created_at of its oldest row (<see cref="SqliteFilterSql.TagPageStart"/>), until it holds a
    /// page of matches or takes in every row. Windows of time grown on from there read every match at once when the newest
    /// were sparse and older ones dense (a thread gone quiet, last month's mentions): 18 ms against 0.5 for fifty mentioned
    /// pubkeys at 100,000 events (docs/benchmarks.md).
    /// </summary>
    /// <param name="shortSince">The time windows read held less than a page from here on: a window that starts here or later is not read again.</param>
    private static async Task ReadTagWindowsAsync(SqliteReader connection, Filter filter, TagFilter condition, int take, long shortSince,
        List<NostrEvent> page, CancellationToken cancellationToken)
    {
        // A window without one match widens sixteen times over, as the other conditions are rare among the tag's events.
        for (long rows = take; ; rows *= page.Count == 0 ? 16 : 4)
        {
            if (rows > MaxTagWindowRows
                || await TagPageStartAsync(connection, condition, SqliteFilterSql.KindsOnTagRows(filter), filter.Since, filter.Until, (int)rows,
                    cancellationToken).ConfigureAwait(false) is not { } start)
            {
                // Fewer rows than the window would take: reading every match costs no more than that window.
                await ReadAsync(connection, filter, after: null, take, page, cancellationToken).ConfigureAwait(false);
                return;
            }
            if (start >= shortSince) continue;
            await ReadAsync(connection, filter with { Since = start }, after: null, take, page, cancellationToken).ConfigureAwait(false);
            if (page.Count == take) return;
        }
    }

    /// <summary>Past this many tag rows in a window, the next try reads every match (a window's work is that of its rows).</summary>
    private const long MaxTagWindowRows = 1 << 20;

    /// <summary>
    /// True when the filter's one tag condition names fewer than <paramref name="under"/> rows of the tag index (a reply
    /// thread, one note's reactions, one pubkey's mentions): its matches are then read and sorted in one query, where
    /// the time windows, widened four times over from an hour until they hold a page, ran a dozen queries for a tag
    /// that few events carry. The count stops at the bound, so a popular tag costs a bounded scan of its index rows; with
    /// kinds it counts only rows of those kinds, so a kind the tag rarely carries scans all its rows (a popular pubkey's
    /// replies among its reactions: still no event looked up, 3.3 ms for 50,000 rows).
    /// </summary>
    private static async Task<bool> FewTagRowsAsync(SqliteReader connection, Filter filter, int under, CancellationToken cancellationToken)
    {
        if (under <= 0 || filter.Tags is not [var condition]) return false;
        var command = connection.Command(built => SqliteFilterSql.CountTagRows(built, condition, SqliteFilterSql.KindsOnTagRows(filter), filter.Since, filter.Until, under));
        return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is long rows && rows < under;
    }

    /// <summary>See <see cref="SqliteFilterSql.TagPageStart"/>.</summary>
    private static async Task<long?> TagPageStartAsync(SqliteReader connection, TagFilter condition, int[]? kinds, long? since, long? until, int take,
        CancellationToken cancellationToken)
    {
        var command = connection.Command(built => SqliteFilterSql.TagPageStart(built, condition, kinds, since, until, take));
        return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is long start ? start : null;
    }

    /// <summary>The created_at of the newest stored event, at or before <paramref name="until"/>; null when there is none.</summary>
    private static async Task<long?> NewestCreatedAtAsync(SqliteReader connection, long? until, CancellationToken cancellationToken)
    {
        var command = connection.Command("SELECT created_at FROM events WHERE created_at <= $until ORDER BY created_at DESC LIMIT 1;");
        command.Parameters.AddWithValue("$until", until ?? long.MaxValue);
        return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is long createdAt ? createdAt : null;
    }

    /// <summary>
    /// True when no one index gives this filter's matches newest first (see <see cref="ReadPageAsync"/>). Replaceable kinds
    /// of named authors are at most one event per kind and author, read and sorted whole.
    /// </summary>
    private static bool NeedsTimeWindow(Filter filter) =>
        filter.Ids is null && !ReplaceableAddresses.Apply(filter)
        && (filter.Tags is not null || filter.Authors is { Length: > 1 } || filter.Kinds is { Length: > 1 }
            || (filter.Authors is not null && filter.Kinds is not null));

    /// <summary>Replaces the content of <paramref name="page"/> with the next matches.</summary>
    private static async Task ReadAsync(SqliteReader connection, Filter filter, EventCursor? after, int take, List<NostrEvent> page, CancellationToken cancellationToken)
    {
        if (SqliteFilterSql.TiesSortedByReader(filter) && await TryReadSecondsAsync(connection, filter, after, take, page, cancellationToken).ConfigureAwait(false))
            return;
        page.Clear();
        var command = connection.Command(built => SqliteFilterSql.Select(built, filter, after, take));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            page.Add(EventReader.ParseStored(reader.GetFieldValue<byte[]>(0)));
    }

    /// <summary>Rows a read in index order takes past the page for the rest of its last second, before SQLite sorts instead.</summary>
    internal const int MaxTiesPastPage = 64;

    /// <summary>
    /// One author's or one kind's page in index order (<see cref="SqliteFilterSql.TiesSortedByReader"/>): read on to the end
    /// of the second of the last event needed, so every event of it that could come first is there, then each second in id
    /// order and the page cut. False, with nothing kept, when that second runs past <see cref="MaxTiesPastPage"/> more rows
    /// (many events in one second): SQLite sorts the page then, with its LIMIT, as for any other filter.
    /// </summary>
    private static async Task<bool> TryReadSecondsAsync(SqliteReader connection, Filter filter, EventCursor? after, int take, List<NostrEvent> page, CancellationToken cancellationToken)
    {
        page.Clear();
        var command = connection.Command(built => SqliteFilterSql.Select(built, filter, after, take + MaxTiesPastPage, tiesInOrder: false));
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            var read = 0;
            var ended = true;   // the rows ran out, or the last second did
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                read++;
                var evt = EventReader.ParseStored(reader.GetFieldValue<byte[]>(0));
                if (page.Count >= take && evt.CreatedAt != page[^1].CreatedAt) break;
                page.Add(evt);
                if (read == take + MaxTiesPastPage) ended = false;
            }
            if (!ended)
            {
                page.Clear();
                return false;
            }
        }
        page.Sort(NostrEvent.CompareNewestFirst);
        if (page.Count > take) page.RemoveRange(take, page.Count - take);
        return true;
    }

    public async Task<long> CountAsync(Filter filter, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(filter);
        var writer = Writer();
        if (filter.CannotMatch) return 0;
        if (filter.HasSearch) await writer.SearchableAsync(cancellationToken).ConfigureAwait(false);
        await using var connection = _readers.Rent();
        var command = connection.Command(built => SqliteFilterSql.Count(built, filter));
        return (long)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
    }

    public async IAsyncEnumerable<EventKey> ReadKeysAsync(Filter filter, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(filter);
        var writer = Writer();
        if (filter.CannotMatch) yield break;
        if (filter.HasSearch) await writer.SearchableAsync(cancellationToken).ConfigureAwait(false);
        await using var connection = _readers.Rent();
        var command = connection.Command(built => SqliteFilterSql.Keys(built, filter));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            yield return new EventKey(SqliteKey.Read(reader, 0), SqliteKey.Read(reader, 1), reader.GetInt32(2), reader.GetInt64(3));
    }

    public async IAsyncEnumerable<string> ReadExpiredAsync(long now, int max, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        Writer();
        var ids = new List<string>();
        await using (var connection = _readers.Rent())
        {
            var command = connection.Command("""
                SELECT e.id FROM expirations x JOIN events e ON e.position = x.event_position
                WHERE x.expires_at <= $now ORDER BY x.expires_at LIMIT $max;
                """);
            command.Parameters.AddWithValue("$now", now);
            command.Parameters.AddWithValue("$max", max);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false)) ids.Add(SqliteKey.Read(reader, 0));
        }
        foreach (var id in ids) yield return id;
    }

    public async Task<long> ReadStreamHeadAsync(string stream, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(stream);
        Writer();
        await using var connection = _readers.Rent();
        var command = connection.Command("SELECT version FROM streams WHERE stream = $stream;");
        command.Parameters.AddWithValue("$stream", SqliteKey.Of(stream));
        return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is long version ? version : 0;
    }

    public IAsyncEnumerable<StoredEvent> ReadAllAsync(long afterPosition, int max, CancellationToken cancellationToken = default)
    {
        Writer();
        // One writer commits positions in increasing order, so a reader never sees a gap that fills later.
        return LogPages.ReadAsync(afterPosition, max, ReadPageSize, byVersion: false, ReadAllPageAsync, cancellationToken);
    }

    private async ValueTask ReadAllPageAsync(long afterPosition, int take, List<StoredEvent> page, CancellationToken cancellationToken)
    {
        await using var connection = _readers.Rent();
        var command = connection.Command("SELECT position, stream, version, json FROM events WHERE position > $after ORDER BY position LIMIT $take;");
        command.Parameters.AddWithValue("$after", afterPosition);
        command.Parameters.AddWithValue("$take", take);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            page.Add(new StoredEvent(EventReader.ParseStored(reader.GetFieldValue<byte[]>(3)), SqliteKey.Read(reader, 1), reader.GetInt64(2), reader.GetInt64(0)));
    }

    /// <summary>
    /// Pages through the unique (stream, version) index: each page is one range seek on it from the last version
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
        await using var connection = _readers.Rent();
        var command = connection.Command("SELECT position, version, json FROM events WHERE stream = $stream AND version > $after ORDER BY version LIMIT $take;");
        command.Parameters.AddWithValue("$stream", SqliteKey.Of(stream));
        command.Parameters.AddWithValue("$after", afterVersion);
        command.Parameters.AddWithValue("$take", take);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            page.Add(new StoredEvent(EventReader.ParseStored(reader.GetFieldValue<byte[]>(2)), stream, reader.GetInt64(1), reader.GetInt64(0)));
    }

    public async ValueTask DisposeAsync()
    {
        SqliteWriter? writer;
        SqliteCheckpointer? checkpointer;
        lock (_lifecycle)
        {
            if (_disposed) return;
            _disposed = true;
            writer = _writer;
            checkpointer = _checkpointer;
            _writer = null;
            _checkpointer = null;
        }
        try
        {
            if (writer is not null) await writer.DisposeAsync().ConfigureAwait(false);
        }
        finally
        {
            try
            {
                if (checkpointer is not null) await checkpointer.DisposeAsync().ConfigureAwait(false);
            }
            finally
            {
                _readers.Dispose();   // idle readers keep the file open; release them with the store
                _writerLock?.Dispose();
            }
        }
    }

    private SqliteWriter Writer()
    {
        var writer = _writer;
        if (writer is not null) return writer;
        ObjectDisposedException.ThrowIf(_disposed, this);
        throw new InvalidOperationException("call InitAsync before using the store");
    }
}
