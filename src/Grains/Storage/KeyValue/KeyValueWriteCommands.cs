using NostrRelay.Protocol;
using NostrRelay.Storage.Writing;
using RocksDbSharp;
using NativeRocksDb = RocksDbSharp.RocksDb;

namespace NostrRelay.Storage.RocksDb;

/// <summary>
/// <see cref="IWriteTransaction"/> in RocksDB: what the writer thread does to the database, one batch at a time. Every change goes into one indexed write
/// batch, and every read here looks through that batch to the committed data, so a check sees what earlier
/// writes of the same batch did before anything is committed. Used by the writer thread only.
/// </summary>
internal sealed class RocksDbWriteCommands : IWriteTransaction, IDisposable
{
    private readonly NativeRocksDb _db;
    private readonly WriteBatchWithIndex _batch = new(reservedBytes: 0, overwriteKeys: true);
    private readonly ReadOptions _read = new();
    private readonly WriteOptions _durable = new WriteOptions().SetSync(true);
    private long _committedPosition;
    private long _lastPosition;
    private long _positionAtSavePoint;
    // Deletion requests put in the open batch: a scan of the database does not see them yet.
    private readonly List<NostrEvent> _batchDeletionRequests = [];
    // One iterator over what was committed before this batch, made on the first deletion check and reused by the
    // rest: a new iterator per save costs more than the seek it makes.
    private Iterator? _committed;
    private readonly DeletionFilter _deletionFilter = new();
    private int _deletionRequestsAtSavePoint;

    public RocksDbWriteCommands(NativeRocksDb db)
    {
        _db = db;
        var last = db.Get(RocksDbKeys.LastPosition);
        _committedPosition = _lastPosition = last is null ? 0 : RocksDbKeys.ReadInt64(last);
        var requests = RocksDbKeys.KindPrefix(DeletionRules.DeletionRequestKind);
        using var iterator = db.NewIterator();
        for (iterator.Seek(requests); iterator.Valid() && iterator.GetKeySpan().StartsWith(requests); iterator.Next())
            if (db.Get(RocksDbKeys.EventKey(RocksDbKeys.ReadInt64(iterator.Value()))) is { } json) _deletionFilter.Add(EventReader.ParseStored(json));
    }

    /// <summary>Marks where the next write starts, so that a write that throws can be undone alone.</summary>
    public void SetSavePoint()
    {
        _batch.SetSavePoint();
        _positionAtSavePoint = _lastPosition;
        _deletionRequestsAtSavePoint = _batchDeletionRequests.Count;
    }

    public void RollbackToSavePoint()
    {
        _batch.RollbackToSavePoint();
        _lastPosition = _positionAtSavePoint;
        _batchDeletionRequests.RemoveRange(_deletionRequestsAtSavePoint, _batchDeletionRequests.Count - _deletionRequestsAtSavePoint);
    }

    /// <summary>Writes the batch with a synced WAL: when this returns, the batch survives a crash or power loss.</summary>
    public void Commit()
    {
        if (_lastPosition != _committedPosition) _batch.Put(RocksDbKeys.LastPosition, RocksDbKeys.Int64Value(_lastPosition));
        if (_batch.Count() > 0) _db.Write(_batch, _durable);
        _committedPosition = _lastPosition;
        _batch.Clear();
        EndBatch();
    }

    /// <summary>Drops everything the batch holds; nothing of it was written.</summary>
    public void Abandon()
    {
        _batch.Clear();
        _lastPosition = _committedPosition;
        EndBatch();
    }

    private void EndBatch()
    {
        _batchDeletionRequests.Clear();
        _committed?.Dispose();
        _committed = null;
    }

    private byte[]? Get(byte[] key) => _batch.Get(_db, key, null, _read);

    public StoredRow? FindById(string id)
    {
        Span<byte> id32 = stackalloc byte[32];
        if (!RocksDbKeys.TryHex32(id, id32)) return null;   // no stored event has such an id
        if (Get(RocksDbKeys.IdKey(id32)) is not { } idValue) return null;
        var position = RocksDbKeys.ReadInt64(idValue);
        var json = Get(RocksDbKeys.EventKey(position)) ?? throw new InvalidDataException($"id {id} points at missing event {position}");
        return new StoredRow(position, EventReader.ParseStored(json));
    }

    public long Head(string stream) => Get(RocksDbKeys.StreamKey(stream)) is { } value ? RocksDbKeys.ReadInt64(value) : 0;

    public IReadOnlyList<StoredRow> Holders(string address)
    {
        var holders = new List<StoredRow>(1);
        if (Get(RocksDbKeys.AddressKey(address)) is not { } positions) return holders;
        for (var offset = 0; offset < positions.Length; offset += 8)
        {
            var position = RocksDbKeys.ReadInt64(positions.AsSpan(offset));
            var json = Get(RocksDbKeys.EventKey(position)) ?? throw new InvalidDataException($"address entry points at missing event {position}");
            var holder = EventReader.ParseStored(json);
            if (holder.Address == address) holders.Add(new StoredRow(position, holder));   // else: another address with the same hash
        }
        return holders;
    }

    /// <summary>Puts the event with its index keys at the next position and moves the stream head.</summary>
    public void Insert(NostrEvent evt, string stream, long version, StoreWrite owner)
    {
        Span<byte> id32 = stackalloc byte[32];
        Span<byte> pubkey32 = stackalloc byte[32];
        if (!RocksDbKeys.TryHex32(evt.Id, id32)) throw new ArgumentException("the id must be 64 lowercase hex characters", nameof(evt));
        if (!RocksDbKeys.TryHex32(evt.Pubkey, pubkey32)) throw new ArgumentException("the pubkey must be 64 lowercase hex characters", nameof(evt));
        // The head moves with every insert, so a taken (stream, version) means a damaged head: refuse rather than overwrite.
        if (Get(RocksDbKeys.StreamVersionKey(stream, version)) is not null)
            throw new InvalidDataException($"stream {stream} already holds version {version} above its head");
        var position = ++_lastPosition;
        var positionValue = RocksDbKeys.Int64Value(position);
        _batch.Put(RocksDbKeys.EventKey(position), evt.Json);
        _batch.Put(RocksDbKeys.IdKey(id32), RocksDbKeys.IdValue(position, version, stream));
        _batch.Put(RocksDbKeys.StreamVersionKey(stream, version), positionValue);
        _batch.Put(RocksDbKeys.StreamKey(stream), RocksDbKeys.Int64Value(version));
        // Every index but the word index holds the kind and pubkey beside the position: a COUNT's or a negentropy
        // session's keys come from the index alone (RocksDbKeyCheck). A search reads its candidates in full anyway.
        var keyValue = RocksDbKeys.TagValue(position, evt.Kind, pubkey32);
        foreach (var key in RocksDbKeys.IndexKeys(evt, id32, pubkey32))
            _batch.Put(key, key[0] == RocksDbKeys.ByWord ? positionValue : keyValue);
        if (evt.Address is { } address)
        {
            var addressKey = RocksDbKeys.AddressKey(address);
            var holders = Get(addressKey) ?? [];
            _batch.Put(addressKey, (byte[])[.. holders, .. positionValue]);
        }
        if (evt.Expiration is { } expiresAt) _batch.Put(RocksDbKeys.ExpiringKey(expiresAt, position), Array.Empty<byte>());
        if (evt.Kind == DeletionRules.DeletionRequestKind) _batchDeletionRequests.Add(evt);
        _deletionFilter.Add(evt);
        owner.Inserted(position);
    }

    /// <summary>
    /// A scan of the tag index (newest first, so it stops at <paramref name="since"/>) over committed data, each hit
    /// read through the batch (a request deleted in it is gone), plus the requests the open batch holds.
    /// </summary>
    public IReadOnlyList<DeletionMark> DeletionRequests(char tag, string value, long since)
    {
        if (!_deletionFilter.MayName(tag, value)) return [];
        List<DeletionMark>? marks = null;
        var prefix = RocksDbKeys.TagPrefix(tag, value);
        var iterator = _committed ??= _db.NewIterator(null, _read);
        for (iterator.Seek(prefix); iterator.Valid(); iterator.Next())
        {
            var key = iterator.GetKeySpan();
            if (!key.StartsWith(prefix)) break;
            if (RocksDbKeys.CreatedAtOfOrder(key[prefix.Length..]) < since) break;
            if (Get(RocksDbKeys.EventKey(RocksDbKeys.ReadInt64(iterator.Value()))) is not { } json) continue;
            AddIfNamed(ref marks, EventReader.ParseStored(json), tag, value, since);
        }
        foreach (var pending in _batchDeletionRequests) AddIfNamed(ref marks, pending, tag, value, since);
        return marks ?? (IReadOnlyList<DeletionMark>)[];
    }

    /// <summary>The tag index keys a hash of the value: the event itself says whether it really names it.</summary>
    private static void AddIfNamed(ref List<DeletionMark>? marks, NostrEvent evt, char tag, string value, long since)
    {
        if (evt.Kind != DeletionRules.DeletionRequestKind || evt.CreatedAt < since) return;
        foreach (var candidate in evt.Tags)
        {
            if (candidate.Length < 2 || candidate[0].Length != 1 || candidate[0][0] != tag || candidate[1] != value) continue;
            (marks ??= []).Add(new DeletionMark(evt.Pubkey, evt.CreatedAt));
            return;
        }
    }

    public void Remove(StoredRow row) => Delete(row.Position, row.Event);

    /// <summary>
    /// Deletes a stored event and every key that names it; its keys come from its stored JSON. The stream head
    /// stays, so the event's version is never handed out again.
    /// </summary>
    private void Delete(long position, NostrEvent stored)
    {
        Span<byte> id32 = stackalloc byte[32];
        Span<byte> pubkey32 = stackalloc byte[32];
        if (!RocksDbKeys.TryHex32(stored.Id, id32) || !RocksDbKeys.TryHex32(stored.Pubkey, pubkey32))
            throw new InvalidDataException($"stored event {position} has no hex id or pubkey");
        var idKey = RocksDbKeys.IdKey(id32);
        var (_, version, stream) = RocksDbKeys.ReadIdValue(Get(idKey) ?? throw new InvalidDataException($"event {position} has no id entry"));
        foreach (var key in RocksDbKeys.IndexKeys(stored, id32, pubkey32)) _batch.Delete(key);
        _batch.Delete(RocksDbKeys.StreamVersionKey(stream, version));
        _batch.Delete(idKey);
        _batch.Delete(RocksDbKeys.EventKey(position));
        if (stored.Expiration is { } expiresAt) _batch.Delete(RocksDbKeys.ExpiringKey(expiresAt, position));
        if (stored.Address is { } address)
        {
            var addressKey = RocksDbKeys.AddressKey(address);
            var holders = Get(addressKey) ?? [];
            var kept = new List<byte>(holders.Length);
            for (var offset = 0; offset < holders.Length; offset += 8)
                if (RocksDbKeys.ReadInt64(holders.AsSpan(offset)) != position) kept.AddRange(holders.AsSpan(offset, 8));
            if (kept.Count == 0) _batch.Delete(addressKey);
            else _batch.Put(addressKey, kept.ToArray());
        }
    }

    public void Dispose()
    {
        EndBatch();
        _batch.Dispose();
    }
}
