using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using NostrRelay.Protocol;
using NostrRelay.Storage.Paging;

namespace NostrRelay.Storage.KeyValue;

/// <summary>
/// The embedded event stores on an ordered key-value engine (RocksDB, LMDB), written once above the engine: events are
/// keyed by position; index keys end in (inverted created_at, id), so a NIP-01 query is a few ordered prefix scans that
/// stop at the limit (see <see cref="KeyValueKeys"/> for the layout). All writes go through one writer thread that
/// commits what is queued as one durable batch (a returned save is durable); readers take a snapshot and never wait
/// for the writer.
/// </summary>
public abstract class KeyValueEventStore : IEventStore
{
    /// <summary>Events read per snapshot; a long result is read page by page, so a slow consumer never pins a snapshot.</summary>
    private const int ReadPageSize = 500;

    /// <summary>Candidates looked at per snapshot, so a filter that matches few of the events it scans still yields now and then.</summary>
    private const int MaxCandidatesPerPage = 8_192;

    private readonly string _storeName;
    private readonly int _maxWriteBatch, _maxQueuedWrites;
    private readonly ILogger _logger;
    private readonly Lock _lifecycle = new();
    // Readers hold it shared for one synchronous page; closing takes it exclusively, so no read runs on a closed database.
    private readonly ReaderWriterLockSlim _open = new(LockRecursionPolicy.SupportsRecursion);
    private IKeyValueEngine? _db;
    private KeyValueWriter? _writer;
    private bool _disposed;

    private protected KeyValueEventStore(string storeName, int maxWriteBatch, int maxQueuedWrites, ILogger? logger)
    {
        _storeName = storeName;
        _maxWriteBatch = maxWriteBatch;
        _maxQueuedWrites = maxQueuedWrites;
        _logger = logger ?? NullLogger.Instance;
    }

    /// <summary>Opens the engine (creating its files when missing); called once, by <see cref="InitAsync"/>.</summary>
    private protected abstract IKeyValueEngine OpenEngine();

    /// <summary>False for a store opened read-only beside the running relay: nothing is written, not even at open.</summary>
    private protected virtual bool Writable => true;

    /// <summary>Where the store lives, for the log.</summary>
    private protected abstract string Location { get; }

    public Task InitAsync(CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_lifecycle)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_writer is not null) return Task.CompletedTask;
            var db = OpenEngine();
            try
            {
                if (Writable)
                {
                    KeyValueReader.IndexExpirations(db);
                    KeyValueReader.IndexWords(db);
                }
                _writer = new KeyValueWriter(new KeyValueWriteCommands(db), _storeName, _maxWriteBatch, _maxQueuedWrites, _logger);
                _db = db;
            }
            catch
            {
                db.Dispose();
                throw;
            }
        }
        StoreLog.Opened(_logger, _storeName, Location);
        return Task.CompletedTask;
    }

    public Task<SaveResult> SaveAsync(NostrEvent evt, string stream, long expectedVersion, CancellationToken cancellationToken = default) =>
        Writer().SaveAsync(evt, stream, expectedVersion, replace: false, cancellationToken);

    public Task<SaveResult> ReplaceAsync(NostrEvent evt, string stream, long expectedVersion, CancellationToken cancellationToken = default) =>
        Writer().SaveAsync(evt, stream, expectedVersion, replace: true, cancellationToken);

    public Task<bool> DeleteAsync(string id, CancellationToken cancellationToken = default) =>
        Writer().DeleteAsync(id, cancellationToken);

    public async IAsyncEnumerable<NostrEvent> QueryAsync(Filter filter, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(filter);
        Writer();
        if (filter.CannotMatch || filter.Limit is <= 0) yield break;
        var remaining = filter.Limit ?? int.MaxValue;
        if (filter.Ids is not null)
        {
            var found = ReadByIds(filter);
            for (var i = 0; i < found.Count && i < remaining; i++) yield return found[i];
            yield break;
        }
        var plan = KeyValueScanPlan.For(filter);
        if (plan.Prefixes.Length == 0) yield break;
        if (SearchRanking.Split(filter).Query is { } search)
        {
            foreach (var evt in SearchRanking.Best(ReadCandidates(filter, plan), search, remaining)) yield return evt;
            yield break;
        }
        var page = new List<NostrEvent>(Math.Min(remaining, ReadPageSize));
        var lastScanned = new byte[KeyValueKeys.OrderLength];
        byte[]? after = null;
        while (remaining > 0)
        {
            cancellationToken.ThrowIfCancellationRequested();
            page.Clear();
            var take = Math.Min(remaining, ReadPageSize);
            var finished = ReadPage(filter, plan, after, take, page, lastScanned);
            // The snapshot is released before the consumer sees the page.
            foreach (var evt in page) yield return evt;
            remaining -= page.Count;
            if (finished) yield break;
            after ??= new byte[KeyValueKeys.OrderLength];
            lastScanned.CopyTo(after, 0);
        }
        await Task.CompletedTask.ConfigureAwait(false);
    }

    public Task<long> CountAsync(Filter filter, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(filter);
        Writer();
        if (filter.CannotMatch) return Task.FromResult(0L);
        if (filter.Ids is not null) return Task.FromResult((long)ReadByIds(filter).Count);
        var plan = KeyValueScanPlan.For(filter);
        if (plan.Prefixes.Length == 0) return Task.FromResult(0L);
        var db = EnterRead();
        try
        {
            long count = 0;
            // An exact plan counts keys as they come; otherwise each entry is decided from its value where it can be.
            KeyValueReader.Scan(db, filter, plan, after: null, int.MaxValue, int.MaxValue, page: null, ref count, new byte[KeyValueKeys.OrderLength],
                plan.Exact ? null : KeyValueKeyCheck.For(filter, plan));
            return Task.FromResult(count);
        }
        finally
        {
            _open.ExitReadLock();
        }
    }

    /// <summary>
    /// COUNT's and NIP-77's keys: from the index's keys and values alone when the filter allows it (<see cref="KeyValueKeyCheck"/>:
    /// the reactions to a note, a pubkey's followers), else from the events, read like a query.
    /// </summary>
    public async IAsyncEnumerable<EventKey> ReadKeysAsync(Filter filter, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(filter);
        Writer();
        if (filter.CannotMatch) yield break;
        var plan = filter.Ids is null ? KeyValueScanPlan.For(filter) : null;
        var keys = new List<EventKey>();
        if (plan is not null && KeyValueKeyCheck.For(filter, plan, keys) is { } check)
        {
            if (plan.Prefixes.Length == 0) yield break;
            var db = EnterRead();
            try
            {
                long count = 0;
                KeyValueReader.Scan(db, filter, plan, after: null, int.MaxValue, int.MaxValue, page: null, ref count, new byte[KeyValueKeys.OrderLength], check);
            }
            finally
            {
                _open.ExitReadLock();
            }
            foreach (var key in keys) yield return key;
            yield break;
        }
        await foreach (var evt in QueryAsync(filter with { Limit = null }, cancellationToken).ConfigureAwait(false))
            yield return new EventKey(evt.Id, evt.Pubkey, evt.Kind, evt.CreatedAt);
    }

    public async IAsyncEnumerable<string> ReadExpiredAsync(long now, int max, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        Writer();
        List<string> ids;
        var db = EnterRead();
        try
        {
            ids = KeyValueReader.ReadExpired(db, now, max);
        }
        finally
        {
            _open.ExitReadLock();
        }
        foreach (var id in ids) yield return id;
        await Task.CompletedTask.ConfigureAwait(false);
    }

    public Task<long> ReadStreamHeadAsync(string stream, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(stream);
        Writer();
        var db = EnterRead();
        try
        {
            return Task.FromResult(KeyValueReader.ReadHead(db, stream));
        }
        finally
        {
            _open.ExitReadLock();
        }
    }

    public IAsyncEnumerable<StoredEvent> ReadAllAsync(long afterPosition, int max, CancellationToken cancellationToken = default)
    {
        Writer();
        // One writer hands out positions in order and commits each batch whole, so a reader never sees a gap that fills later.
        return LogPages.ReadAsync(afterPosition, max, ReadPageSize, byVersion: false, (after, take, page, _) =>
        {
            var db = EnterRead();
            try { KeyValueReader.ReadAll(db, after, take, page); }
            finally { _open.ExitReadLock(); }
            return ValueTask.CompletedTask;
        }, cancellationToken);
    }

    public IAsyncEnumerable<StoredEvent> ReadStreamAsync(string stream, long afterVersion, int max, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(stream);
        Writer();
        return LogPages.ReadAsync(afterVersion, max, ReadPageSize, byVersion: true, (after, take, page, _) =>
        {
            var db = EnterRead();
            try { KeyValueReader.ReadStream(db, stream, after, take, page); }
            finally { _open.ExitReadLock(); }
            return ValueTask.CompletedTask;
        }, cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        KeyValueWriter? writer;
        lock (_lifecycle)
        {
            if (_disposed) return;
            _disposed = true;
            writer = _writer;
            _writer = null;
        }
        if (writer is not null) await writer.DisposeAsync().ConfigureAwait(false);
        _open.EnterWriteLock();
        try
        {
            _db?.Dispose();
            _db = null;
        }
        finally
        {
            _open.ExitWriteLock();
        }
    }

    private List<NostrEvent> ReadByIds(Filter filter)
    {
        var db = EnterRead();
        try
        {
            return KeyValueReader.ReadByIds(db, filter);
        }
        finally
        {
            _open.ExitReadLock();
        }
    }

    /// <summary>NIP-50 by the 'W' keys: the newest matches with every word, at most <see cref="SearchRanking.MaxCandidates"/> of them and as many looked at, for ranking.</summary>
    public bool CanSearch => true;

    private List<NostrEvent> ReadCandidates(Filter filter, KeyValueScanPlan plan)
    {
        var candidates = new List<NostrEvent>();
        var db = EnterRead();
        try
        {
            long matched = 0;
            KeyValueReader.Scan(db, filter with { Limit = null }, plan, after: null, SearchRanking.MaxCandidates, SearchRanking.MaxCandidates, candidates, ref matched,
                new byte[KeyValueKeys.OrderLength]);
        }
        finally
        {
            _open.ExitReadLock();
        }
        return candidates;
    }

    private bool ReadPage(Filter filter, KeyValueScanPlan plan, byte[]? after, int take, List<NostrEvent> page, byte[] lastScanned)
    {
        var db = EnterRead();
        try
        {
            long matched = 0;
            return KeyValueReader.Scan(db, filter, plan, after, take, MaxCandidatesPerPage, page, ref matched, lastScanned);
        }
        finally
        {
            _open.ExitReadLock();
        }
    }

    /// <summary>The open database, held shared until <c>_open.ExitReadLock()</c> on this thread.</summary>
    private IKeyValueEngine EnterRead()
    {
        _open.EnterReadLock();
        if (_db is { } db) return db;
        _open.ExitReadLock();
        throw new ObjectDisposedException(GetType().Name);
    }

    private KeyValueWriter Writer()
    {
        var writer = _writer;
        if (writer is not null) return writer;
        ObjectDisposedException.ThrowIf(_disposed, this);
        throw new InvalidOperationException("call InitAsync before using the store");
    }
}
