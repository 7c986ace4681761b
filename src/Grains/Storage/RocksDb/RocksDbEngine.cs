using NostrRelay.Storage.KeyValue;
using RocksDbSharp;
using NativeRocksDb = RocksDbSharp.RocksDb;

namespace NostrRelay.Storage.RocksDb;

/// <summary>RocksDB under the key-value event store: snapshots for reads, one indexed write batch committed with a synced WAL.</summary>
internal sealed class RocksDbEngine(NativeRocksDb db) : IKeyValueEngine
{
    public NativeRocksDb Database => db;

    public IKeyValueSnapshot OpenSnapshot() => new Snapshot(db);

    public byte[]? Get(byte[] key) => db.Get(key);

    public IKeyValueBatch OpenBatch() => new Batch(db);

    /// <summary>RocksDB grows its files as it needs: never full short of the disk.</summary>
    public void MakeRoom()
    {
    }

    public void Dispose() => db.Dispose();

    private sealed class Snapshot : IKeyValueSnapshot
    {
        private readonly NativeRocksDb _db;
        private readonly RocksDbSharp.Snapshot _snapshot;
        private readonly ReadOptions _read;

        public Snapshot(NativeRocksDb db)
        {
            _db = db;
            _snapshot = db.CreateSnapshot();
            _read = new ReadOptions().SetSnapshot(_snapshot);
        }

        public byte[]? Get(byte[] key) => _db.Get(key, null, _read);

        public IKeyValueCursor OpenCursor() => new Cursor(_db.NewIterator(null, _read), owned: true);

        public void Dispose() => _snapshot.Dispose();
    }

    private sealed class Cursor(Iterator iterator, bool owned) : IKeyValueCursor
    {
        public void Seek(byte[] key) => iterator.Seek(key);

        public void Next() => iterator.Next();

        public bool Valid => iterator.Valid();

        public ReadOnlySpan<byte> Key => iterator.GetKeySpan();

        public ReadOnlySpan<byte> Value => iterator.GetValueSpan();

        public void Dispose()
        {
            if (owned) iterator.Dispose();
        }
    }

    /// <summary>
    /// Every change goes into one indexed write batch, and <see cref="Get"/> looks through it to the committed data. A
    /// cursor reads what was committed before the batch: one iterator, made on first use and kept for the batch,
    /// because a new iterator costs more than the seek it makes.
    /// </summary>
    private sealed class Batch(NativeRocksDb db) : IKeyValueBatch
    {
        private readonly WriteBatchWithIndex _batch = new(reservedBytes: 0, overwriteKeys: true);
        private readonly ReadOptions _read = new();
        private readonly WriteOptions _durable = new WriteOptions().SetSync(true);
        private Iterator? _committed;

        public byte[]? Get(byte[] key) => _batch.Get(db, key, null, _read);

        public IKeyValueCursor OpenCursor() => new Cursor(_committed ??= db.NewIterator(null, _read), owned: false);

        public void Put(byte[] key, byte[] value) => _batch.Put(key, value);

        public void Delete(byte[] key) => _batch.Delete(key);

        public void SetSavePoint() => _batch.SetSavePoint();

        public void RollbackToSavePoint() => _batch.RollbackToSavePoint();

        public void ReleaseSavePoint()
        {
        }

        public void Commit()
        {
            if (_batch.Count() > 0) db.Write(_batch, _durable);
            End();
        }

        public void Abandon() => End();

        private void End()
        {
            _batch.Clear();
            _committed?.Dispose();
            _committed = null;
        }

        public void Dispose()
        {
            End();
            _batch.Dispose();
        }
    }
}
