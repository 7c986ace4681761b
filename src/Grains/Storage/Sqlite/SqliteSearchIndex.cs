using Microsoft.Data.Sqlite;
using NostrRelay.Protocol;

namespace NostrRelay.Storage.Sqlite;

/// <summary>
/// NIP-50's FTS5 index, written behind the events instead of inside each write batch. FTS5 turns every transaction
/// into a segment of its own and merges them as they pile up, so indexing a group commit of a few dozen events cost
/// the writer thread about a tenth of the relay's CPU under ingest; indexed a thousand at a time it costs about half
/// as much, and never delays an OK. Committed events wait here, their words in memory, until
/// <see cref="FlushAt"/> of them have gathered, a search asks for them (<see cref="SqliteWriter.SearchableAsync"/>),
/// or the store closes; each flush is one transaction that also moves <c>search_progress</c>, so after a crash the
/// events past it are indexed again from their JSON when the file is opened. Used by the writer thread only.
/// </summary>
internal sealed class SqliteSearchIndex : IDisposable
{
    /// <summary>Committed events kept waiting before they are indexed without being asked for.</summary>
    internal const int FlushAt = 1024;

    private readonly SqliteConnection _connection;
    private readonly SqliteCommand _insert, _progress;
    private readonly SqliteParameter _insertPosition, _insertWords, _progressPosition;
    private readonly List<(long Position, string Words)> _pending = [];
    private readonly List<(long Position, string Words)> _batch = [];
    private readonly List<long> _batchRemoved = [];
    private long _indexedThrough;     // search_progress: every event at or before it is indexed
    private long _committedThrough;   // the newest committed event, words or not
    private long _batchThrough;
    private int _pendingCount;

    private readonly bool _readOnly;

    /// <param name="readOnly">For a tool beside the running relay: nothing is indexed here, the relay does it.</param>
    public SqliteSearchIndex(SqliteConnection connection, bool readOnly = false)
    {
        _connection = connection;
        _readOnly = readOnly;
        _insert = connection.CreateCommand();
        // OR REPLACE: indexing a row twice (a flush run again after an uncertain failure) leaves it indexed once.
        _insert.CommandText = "INSERT OR REPLACE INTO search (rowid, words) VALUES ($position, $words);";
        _insertPosition = _insert.Parameters.Add("$position", SqliteType.Integer);
        _insertWords = _insert.Parameters.Add("$words", SqliteType.Text);
        _progress = connection.CreateCommand();
        _progress.CommandText = "UPDATE search_progress SET indexed_through = $position;";
        _progressPosition = _progress.Parameters.Add("$position", SqliteType.Integer);
        _insert.Prepare();
        _progress.Prepare();
        using (var read = connection.CreateCommand())
        {
            read.CommandText = "SELECT indexed_through FROM search_progress;";
            _indexedThrough = _committedThrough = (long)read.ExecuteScalar()!;
        }
        if (!readOnly) CatchUp();
    }

    /// <summary>True while committed events wait to be indexed; safe to read from any thread.</summary>
    public bool HasPending => Volatile.Read(ref _pendingCount) > 0;

    /// <summary>
    /// True once enough events wait that the writer indexes them without being asked; events without words count
    /// too, so <c>search_progress</c> keeps up and an open after a crash never reads far back.
    /// </summary>
    public bool Due => _committedThrough - _indexedThrough >= FlushAt;

    /// <summary>True when the event at this position is in the FTS5 index, so a delete must remove its row there.</summary>
    public bool Indexed(long position) => position <= _indexedThrough;

    /// <summary>An event inserted by the open write batch (its words may be empty): indexed once the batch is committed and flushed.</summary>
    public void Added(long position, string? words)
    {
        if (position > _batchThrough) _batchThrough = position;
        if (!string.IsNullOrEmpty(words)) _batch.Add((position, words));
    }

    /// <summary>An event not yet indexed was removed by the open write batch: it never will be.</summary>
    public void Removed(long position) => _batchRemoved.Add(position);

    /// <summary>The write batch was committed: its events wait to be indexed. Called before any of its writes completes.</summary>
    public void Committed()
    {
        foreach (var position in _batchRemoved)
        {
            _batch.RemoveAll(entry => entry.Position == position);
            _pending.RemoveAll(entry => entry.Position == position);
        }
        _pending.AddRange(_batch);
        if (_batchThrough > _committedThrough) _committedThrough = _batchThrough;
        Forget();
        Volatile.Write(ref _pendingCount, _pending.Count);
    }

    /// <summary>The write batch was rolled back (or is starting): nothing it did counts.</summary>
    public void Forget()
    {
        _batch.Clear();
        _batchRemoved.Clear();
        _batchThrough = 0;
    }

    /// <summary>
    /// Indexes every waiting event in one transaction that also moves <c>search_progress</c>. It is not synced to the
    /// disk (synchronous=NORMAL): the next event commit syncs the WAL with it, and if neither reaches the disk the
    /// events are indexed again when the file is opened. On failure nothing is indexed and the events keep waiting.
    /// </summary>
    public void Flush()
    {
        if (_readOnly || _committedThrough == _indexedThrough) return;
        Execute("PRAGMA synchronous = NORMAL;");
        try
        {
            using var transaction = _connection.BeginTransaction();
            _insert.Transaction = transaction;
            _progress.Transaction = transaction;
            foreach (var (position, words) in _pending)
            {
                _insertPosition.Value = position;
                _insertWords.Value = words;
                _insert.ExecuteNonQuery();
            }
            _progressPosition.Value = _committedThrough;
            _progress.ExecuteNonQuery();
            transaction.Commit();
            _indexedThrough = _committedThrough;
            _pending.Clear();
            Volatile.Write(ref _pendingCount, 0);
        }
        finally
        {
            _insert.Transaction = null;
            _progress.Transaction = null;
            Execute("PRAGMA synchronous = FULL;");
        }
    }

    /// <summary>
    /// Indexes the events committed past <c>search_progress</c> before the last close (a crash or a kill came before
    /// their flush), a thousand at a time, from their stored JSON.
    /// </summary>
    private void CatchUp()
    {
        while (true)
        {
            var read = 0;
            using (var command = _connection.CreateCommand())
            {
                command.CommandText = "SELECT position, json FROM events WHERE position > $after ORDER BY position LIMIT $take;";
                command.Parameters.AddWithValue("$after", _indexedThrough);
                command.Parameters.AddWithValue("$take", FlushAt);
                using var reader = command.ExecuteReader();
                while (reader.Read())
                {
                    read++;
                    string words;
                    try
                    {
                        words = SearchQuery.IndexText(EventReader.ParseStored(reader.GetFieldValue<byte[]>(1)).Content);
                    }
                    catch (Exception ex) when (ex is System.Text.Json.JsonException or FormatException or InvalidOperationException)
                    {
                        words = "";   // an unreadable row is not searchable; it must not keep the store from opening
                    }
                    Added(reader.GetInt64(0), words);
                }
            }
            Committed();
            Flush();
            if (read < FlushAt) return;
        }
    }

    private void Execute(string sql)
    {
        using var command = _connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    public void Dispose()
    {
        _insert.Dispose();
        _progress.Dispose();
    }
}
