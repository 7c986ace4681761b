using System.Text;
using NostrRelay.Storage.KeyValue;

namespace NostrRelay.Storage.Lmdb;

/// <summary>
/// LMDB under the key-value event store: one environment directory, one unnamed database. A read snapshot is a read
/// transaction (no lock, no copy: values are read from the map); the writer's batch is one write transaction with a
/// nested transaction per write for its save point, committed with LMDB's own fsync. The map grows when full.
/// </summary>
/// <remarks>
/// LMDB's best-known operational failure is MDB_MAP_FULL: the map is a fixed reservation of address space, and a
/// database that outgrows it refuses every write. Here the writer abandons the batch, <see cref="MakeRoom"/> doubles the
/// map once no read transaction of this process is open (snapshots hold <c>_room</c> shared for their short life), and
/// the batch runs again. Keys are at most 511 bytes (LMDB's compile-time limit): every key of the layout is, for stream
/// names up to about 450 bytes.
/// </remarks>
internal sealed unsafe class LmdbEngine : IKeyValueEngine
{
    private const uint MaxReaders = 512;

    private readonly LmdbNative _lmdb;
    private readonly ReaderWriterLockSlim _room = new(LockRecursionPolicy.SupportsRecursion);
    private readonly bool _readOnly;
    private IntPtr _env;
    private uint _dbi;
    private bool _broken;

    public LmdbEngine(string path, long mapSizeBytes, bool readOnly)
    {
        _lmdb = LmdbNative.Load();
        _readOnly = readOnly;
        IntPtr env;
        _lmdb.Check(_lmdb.EnvCreate(&env), "env_create");
        _env = env;
        try
        {
            _lmdb.Check(_lmdb.EnvSetMaxReaders(env, MaxReaders), "env_set_maxreaders");
            _lmdb.Check(_lmdb.EnvSetMapSize(env, (nuint)mapSizeBytes), "env_set_mapsize");
            if (!readOnly) Directory.CreateDirectory(path);
            var flags = LmdbNative.NoThreadLocalStorage | LmdbNative.NoReadAhead | (readOnly ? LmdbNative.ReadOnly : 0);
            fixed (byte* directory = NullTerminated(path))
                _lmdb.Check(_lmdb.EnvOpen(env, directory, flags, 0b110_100_100), $"env_open {path}");
            // LMDB opens with the size asked for, raised only to the space in use; the size an environment grew to is
            // recorded in it. Take the larger of the two, so a store that grew does not start each run full.
            LmdbNative.EnvInfo info;
            _lmdb.Check(_lmdb.EnvSetMapSize(env, 0), "env_set_mapsize");
            _lmdb.Check(_lmdb.EnvInfoOf(env, &info), "env_info");
            if ((long)info.MapSize < mapSizeBytes) _lmdb.Check(_lmdb.EnvSetMapSize(env, (nuint)mapSizeBytes), "env_set_mapsize");
            // Reader slots a crashed process left would keep old pages from being reused.
            int dead;
            _lmdb.Check(_lmdb.ReaderCheck(env, &dead), "reader_check");
            IntPtr txn;
            _lmdb.Check(_lmdb.TxnBegin(env, IntPtr.Zero, readOnly ? LmdbNative.ReadOnly : 0, &txn), "txn_begin");
            uint dbi;
            var opened = _lmdb.DbiOpen(txn, null, readOnly ? 0 : LmdbNative.Create, &dbi);
            if (opened != 0)
            {
                _lmdb.TxnAbort(txn);
                _lmdb.Check(opened, "dbi_open");
            }
            _lmdb.Check(_lmdb.TxnCommit(txn), "txn_commit");
            _dbi = dbi;
        }
        catch
        {
            _lmdb.EnvClose(env);
            _env = IntPtr.Zero;
            throw;
        }
    }

    /// <summary>The map's size now, in bytes.</summary>
    public long MapSize
    {
        get
        {
            LmdbNative.EnvInfo info;
            _lmdb.Check(_lmdb.EnvInfoOf(_env, &info), "env_info");
            return (long)info.MapSize;
        }
    }

    public IKeyValueSnapshot OpenSnapshot()
    {
        while (true)
        {
            _room.EnterReadLock();
            if (_broken)
            {
                _room.ExitReadLock();
                ThrowIfBroken();
            }
            IntPtr txn;
            var code = _lmdb.TxnBegin(_env, IntPtr.Zero, LmdbNative.ReadOnly, &txn);
            if (code == 0) return new Snapshot(this, txn);
            _room.ExitReadLock();
            if (code != LmdbNative.MapResized) _lmdb.Check(code, "txn_begin (read)");
            // Another process (the relay, beside a read-only tool) grew the map: adopt its size, then read.
            _room.EnterWriteLock();
            try { _lmdb.Check(_lmdb.EnvSetMapSize(_env, 0), "env_set_mapsize"); }
            finally { _room.ExitWriteLock(); }
        }
    }

    public IKeyValueBatch OpenBatch() => new Batch(this);

    /// <summary>
    /// Doubles the map, once no read transaction of this process is open and no batch is. LMDB unmaps the old map before
    /// it maps the new one, so a failed grow (address space refused) leaves no map: the engine then refuses every
    /// transaction rather than read freed memory.
    /// </summary>
    public void MakeRoom()
    {
        _room.EnterWriteLock();
        try
        {
            ThrowIfBroken();
            int dead;
            _lmdb.Check(_lmdb.ReaderCheck(_env, &dead), "reader_check");
            var size = MapSize;
            var grown = _lmdb.EnvSetMapSize(_env, (nuint)(size * 2));
            if (grown != 0)
            {
                _broken = true;
                _lmdb.Check(grown, "env_set_mapsize");
            }
        }
        finally
        {
            _room.ExitWriteLock();
        }
    }

    private void ThrowIfBroken()
    {
        if (_broken) throw new IOException("the LMDB map could not grow and is unmapped; restart the relay (and give it address space)");
    }

    /// <summary>The committed value at the key, in a read transaction of its own.</summary>
    public byte[]? Get(byte[] key)
    {
        using var snapshot = OpenSnapshot();
        return snapshot.Get(key);
    }

    public void Dispose()
    {
        if (_env == IntPtr.Zero) return;
        _room.EnterWriteLock();
        try
        {
            _lmdb.EnvClose(_env);
            _env = IntPtr.Zero;
        }
        finally
        {
            _room.ExitWriteLock();
        }
    }

    private static byte[] NullTerminated(string text) => [.. Encoding.UTF8.GetBytes(text), 0];

    private byte[]? Get(IntPtr txn, byte[] key)
    {
        fixed (byte* k = key)
        {
            var keyValue = new LmdbNative.Value { Size = (nuint)key.Length, Data = k };
            LmdbNative.Value data;
            var code = _lmdb.Get(txn, _dbi, &keyValue, &data);
            if (code == LmdbNative.NotFound) return null;
            _lmdb.Check(code, "get");
            return data.Span.ToArray();
        }
    }

    private Cursor OpenCursor(IntPtr txn)
    {
        IntPtr cursor;
        _lmdb.Check(_lmdb.CursorOpen(txn, _dbi, &cursor), "cursor_open");
        return new Cursor(_lmdb, cursor);
    }

    private sealed class Snapshot(LmdbEngine engine, IntPtr txn) : IKeyValueSnapshot
    {
        private bool _disposed;

        public byte[]? Get(byte[] key) => engine.Get(txn, key);

        public IKeyValueCursor OpenCursor() => engine.OpenCursor(txn);

        public void Dispose()
        {
            if (_disposed) return;
            _disposed = true;
            engine._lmdb.TxnAbort(txn);
            engine._room.ExitReadLock();
        }
    }

    private sealed class Cursor(LmdbNative lmdb, IntPtr cursor) : IKeyValueCursor
    {
        private LmdbNative.Value _key, _value;
        private bool _valid;

        public void Seek(byte[] key)
        {
            fixed (byte* k = key)
            {
                _key = new LmdbNative.Value { Size = (nuint)key.Length, Data = k };
                Move(LmdbNative.CursorSetRange, "cursor_get (set range)");
            }
        }

        public void Next() => Move(LmdbNative.CursorNext, "cursor_get (next)");

        private void Move(int operation, string name)
        {
            LmdbNative.Value key = _key, value;
            var code = lmdb.CursorGet(cursor, &key, &value, operation);
            _valid = code == 0;
            if (code != LmdbNative.NotFound) lmdb.Check(code, name);
            _key = key;
            _value = value;
        }

        public bool Valid => _valid;

        public ReadOnlySpan<byte> Key => _valid ? _key.Span : default;

        public ReadOnlySpan<byte> Value => _valid ? _value.Span : default;

        public void Dispose() => lmdb.CursorClose(cursor);
    }

    /// <summary>
    /// One write transaction, begun at first use and ended by commit or abandon; a nested transaction per save point,
    /// which LMDB merges into its parent on release or drops on rollback. Reads and cursors see the batch's changes.
    /// </summary>
    private sealed class Batch(LmdbEngine engine) : IKeyValueBatch
    {
        private IntPtr _root, _child;
        // A save point's nested transaction begins at the write's first change: a duplicate changes nothing and costs none.
        private bool _savePointSet;

        private IntPtr Current
        {
            get
            {
                if (_child != IntPtr.Zero) return _child;
                if (_root == IntPtr.Zero)
                {
                    if (engine._readOnly) throw new InvalidOperationException("this LMDB store is open read-only");
                    engine.ThrowIfBroken();
                    IntPtr txn;
                    engine._lmdb.Check(engine._lmdb.TxnBegin(engine._env, IntPtr.Zero, 0, &txn), "txn_begin (write)");
                    _root = txn;
                }
                return _root;
            }
        }

        /// <summary>Where a change goes: the save point's nested transaction, begun now if it is not yet.</summary>
        private IntPtr Changing
        {
            get
            {
                var current = Current;
                if (!_savePointSet || _child != IntPtr.Zero) return current;
                IntPtr txn;
                engine._lmdb.Check(engine._lmdb.TxnBegin(engine._env, current, 0, &txn), "txn_begin (nested)");
                return _child = txn;
            }
        }

        public byte[]? Get(byte[] key) => engine.Get(Current, key);

        public IKeyValueCursor OpenCursor() => engine.OpenCursor(Current);

        public void Put(byte[] key, byte[] value)
        {
            var txn = Changing;
            fixed (byte* k = key)
            fixed (byte* v = value)
            {
                var keyValue = new LmdbNative.Value { Size = (nuint)key.Length, Data = k };
                var data = new LmdbNative.Value { Size = (nuint)value.Length, Data = v };
                engine._lmdb.Check(engine._lmdb.Put(txn, engine._dbi, &keyValue, &data, 0), "put");
            }
        }

        public void Delete(byte[] key)
        {
            var txn = Changing;
            fixed (byte* k = key)
            {
                var keyValue = new LmdbNative.Value { Size = (nuint)key.Length, Data = k };
                var code = engine._lmdb.Delete(txn, engine._dbi, &keyValue, null);
                if (code != LmdbNative.NotFound) engine._lmdb.Check(code, "del");
            }
        }

        public void SetSavePoint()
        {
            EndChild(commit: true);
            _savePointSet = true;
        }

        public void ReleaseSavePoint() => EndChild(commit: true);

        public void RollbackToSavePoint() => EndChild(commit: false);

        private void EndChild(bool commit)
        {
            _savePointSet = false;
            var child = _child;
            if (child == IntPtr.Zero) return;
            _child = IntPtr.Zero;
            if (commit) engine._lmdb.Check(engine._lmdb.TxnCommit(child), "txn_commit (nested)");
            else engine._lmdb.TxnAbort(child);
        }

        public void Commit()
        {
            EndChild(commit: true);
            var root = _root;
            if (root == IntPtr.Zero) return;
            _root = IntPtr.Zero;
            // Freed by LMDB whether it succeeds or not.
            engine._lmdb.Check(engine._lmdb.TxnCommit(root), "txn_commit");
        }

        public void Abandon()
        {
            EndChild(commit: false);
            var root = _root;
            if (root == IntPtr.Zero) return;
            _root = IntPtr.Zero;
            engine._lmdb.TxnAbort(root);
        }

        public void Dispose() => Abandon();
    }
}
