using NostrRelay.Protocol;
using RocksDbSharp;
using NativeRocksDb = RocksDbSharp.RocksDb;

namespace NostrRelay.Storage.RocksDb;

/// <summary>
/// What the writer thread does to the database, one batch at a time. Every change goes into one indexed write
/// batch, and every read here looks through that batch to the committed data, so a check sees what earlier
/// writes of the same batch did before anything is committed. Used by the writer thread only.
/// </summary>
internal sealed class RocksDbWriteCommands : IDisposable
{
    private readonly NativeRocksDb _db;
    private readonly WriteBatchWithIndex _batch = new(reservedBytes: 0, overwriteKeys: true);
    private readonly ReadOptions _read = new();
    private readonly WriteOptions _durable = new WriteOptions().SetSync(true);
    private long _committedPosition;
    private long _lastPosition;
    private long _positionAtSavePoint;

    public RocksDbWriteCommands(NativeRocksDb db)
    {
        _db = db;
        var last = db.Get(RocksDbKeys.LastPosition);
        _committedPosition = _lastPosition = last is null ? 0 : RocksDbKeys.ReadInt64(last);
    }

    /// <summary>Marks where the next write starts, so that a write that throws can be undone alone.</summary>
    public void SetSavePoint()
    {
        _batch.SetSavePoint();
        _positionAtSavePoint = _lastPosition;
    }

    public void RollbackToSavePoint()
    {
        _batch.RollbackToSavePoint();
        _lastPosition = _positionAtSavePoint;
    }

    /// <summary>Writes the batch with a synced WAL: when this returns, the batch survives a crash or power loss.</summary>
    public void Commit()
    {
        if (_lastPosition != _committedPosition) _batch.Put(RocksDbKeys.LastPosition, RocksDbKeys.Int64Value(_lastPosition));
        if (_batch.Count() > 0) _db.Write(_batch, _durable);
        _committedPosition = _lastPosition;
        _batch.Clear();
    }

    /// <summary>Drops everything the batch holds; nothing of it was written.</summary>
    public void Abandon()
    {
        _batch.Clear();
        _lastPosition = _committedPosition;
    }

    private byte[]? Get(byte[] key) => _batch.Get(_db, key, null, _read);

    public bool IdExists(ReadOnlySpan<byte> id32) => Get(RocksDbKeys.IdKey(id32)) is not null;

    /// <summary>The stream's head; 0 for a stream never written.</summary>
    public long ReadHead(string stream) => Get(RocksDbKeys.StreamKey(stream)) is { } value ? RocksDbKeys.ReadInt64(value) : 0;

    public bool VersionTaken(string stream, long version) => Get(RocksDbKeys.StreamVersionKey(stream, version)) is not null;

    /// <summary>The stored events holding a replaceable address (normally one), with their positions.</summary>
    public List<(long Position, NostrEvent Event)> ReadAddress(string address)
    {
        var holders = new List<(long, NostrEvent)>(1);
        if (Get(RocksDbKeys.AddressKey(address)) is not { } positions) return holders;
        for (var offset = 0; offset < positions.Length; offset += 8)
        {
            var position = RocksDbKeys.ReadInt64(positions.AsSpan(offset));
            var json = Get(RocksDbKeys.EventKey(position)) ?? throw new InvalidDataException($"address entry points at missing event {position}");
            var holder = EventReader.ParseStored(json);
            if (holder.Address == address) holders.Add((position, holder));   // else: another address with the same hash
        }
        return holders;
    }

    /// <summary>Inserts the event with its index keys at the next position, and moves the stream head; returns the position.</summary>
    public long InsertEvent(NostrEvent evt, ReadOnlySpan<byte> id32, ReadOnlySpan<byte> pubkey32, string stream, long version)
    {
        var position = ++_lastPosition;
        var positionValue = RocksDbKeys.Int64Value(position);
        _batch.Put(RocksDbKeys.EventKey(position), evt.Json);
        _batch.Put(RocksDbKeys.IdKey(id32), RocksDbKeys.IdValue(position, version, stream));
        _batch.Put(RocksDbKeys.StreamVersionKey(stream, version), positionValue);
        _batch.Put(RocksDbKeys.StreamKey(stream), RocksDbKeys.Int64Value(version));
        foreach (var key in RocksDbKeys.IndexKeys(evt, id32, pubkey32)) _batch.Put(key, positionValue);
        if (evt.Address is { } address)
        {
            var addressKey = RocksDbKeys.AddressKey(address);
            var holders = Get(addressKey) ?? [];
            _batch.Put(addressKey, (byte[])[.. holders, .. positionValue]);
        }
        return position;
    }

    /// <summary>Deletes the event with this id and its index keys; false when it is not stored.</summary>
    public bool DeleteById(string id)
    {
        Span<byte> id32 = stackalloc byte[32];
        if (!RocksDbKeys.TryHex32(id, id32)) return false;
        if (Get(RocksDbKeys.IdKey(id32)) is not { } idValue) return false;
        var position = RocksDbKeys.ReadInt64(idValue);
        var json = Get(RocksDbKeys.EventKey(position)) ?? throw new InvalidDataException($"id {id} points at missing event {position}");
        Delete(position, EventReader.ParseStored(json));
        return true;
    }

    /// <summary>
    /// Deletes a stored event and every key that names it; its keys come from its stored JSON. The stream head
    /// stays, so the event's version is never handed out again.
    /// </summary>
    public void Delete(long position, NostrEvent stored)
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

    public void Dispose() => _batch.Dispose();
}
