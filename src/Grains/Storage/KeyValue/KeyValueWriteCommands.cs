using NostrRelay.Protocol;
using NostrRelay.Storage.Writing;

namespace NostrRelay.Storage.KeyValue;

/// <summary>
/// <see cref="IWriteTransaction"/> in an ordered key-value engine: what the writer thread does to the database, one
/// batch at a time. Every change goes into the engine's batch, and every read here looks through that batch to the
/// committed data, so a check sees what earlier writes of the same batch did before anything is committed. Used by
/// the writer thread only.
/// </summary>
internal sealed class KeyValueWriteCommands : IWriteTransaction, IDisposable
{
    private readonly IKeyValueEngine _db;
    private IKeyValueBatch _batch;
    private long _committedPosition;
    private long _lastPosition;
    private long _positionAtSavePoint;
    // Deletion requests put in the open batch: a scan of the database may not see them yet.
    private readonly List<NostrEvent> _batchDeletionRequests = [];
    private readonly DeletionFilter _deletionFilter = new();
    private int _deletionRequestsAtSavePoint;

    public KeyValueWriteCommands(IKeyValueEngine db)
    {
        _db = db;
        using (var snapshot = db.OpenSnapshot())
        {
            var last = snapshot.Get(KeyValueKeys.LastPosition);
            _committedPosition = _lastPosition = last is null ? 0 : KeyValueKeys.ReadInt64(last);
            var requests = KeyValueKeys.KindPrefix(DeletionRules.DeletionRequestKind);
            using var iterator = snapshot.OpenCursor();
            for (iterator.Seek(requests); iterator.Valid && iterator.Key.StartsWith(requests); iterator.Next())
                if (snapshot.Get(KeyValueKeys.EventKey(KeyValueKeys.ReadInt64(iterator.Value))) is { } json) _deletionFilter.Add(EventReader.ParseStored(json));
        }
        _batch = db.OpenBatch();
    }

    /// <summary>Marks where the next write starts, so that a write that throws can be undone alone.</summary>
    public void SetSavePoint()
    {
        _batch.SetSavePoint();
        _positionAtSavePoint = _lastPosition;
        _deletionRequestsAtSavePoint = _batchDeletionRequests.Count;
    }

    /// <summary>The write since the save point went well: its changes stay in the batch.</summary>
    public void ReleaseSavePoint() => _batch.ReleaseSavePoint();

    public void RollbackToSavePoint()
    {
        _batch.RollbackToSavePoint();
        _lastPosition = _positionAtSavePoint;
        _batchDeletionRequests.RemoveRange(_deletionRequestsAtSavePoint, _batchDeletionRequests.Count - _deletionRequestsAtSavePoint);
    }

    /// <summary>Writes the batch durably: when this returns, the batch survives a crash or power loss.</summary>
    public void Commit()
    {
        if (_lastPosition != _committedPosition) _batch.Put(KeyValueKeys.LastPosition, KeyValueKeys.Int64Value(_lastPosition));
        _batch.Commit();
        _committedPosition = _lastPosition;
        EndBatch();
    }

    /// <summary>Drops everything the batch holds; nothing of it was written. The next batch starts afresh.</summary>
    public void Abandon()
    {
        _batch.Abandon();
        _lastPosition = _committedPosition;
        EndBatch();
    }

    /// <summary>After <see cref="Abandon"/> on a full engine: lets it make room, with no batch open.</summary>
    public void MakeRoom()
    {
        _batch.Dispose();
        _db.MakeRoom();
        _batch = _db.OpenBatch();
    }

    private void EndBatch() => _batchDeletionRequests.Clear();

    private byte[]? Get(byte[] key) => _batch.Get(key);

    public StoredRow? FindById(string id)
    {
        Span<byte> id32 = stackalloc byte[32];
        if (!KeyValueKeys.TryHex32(id, id32)) return null;   // no stored event has such an id
        if (Get(KeyValueKeys.IdKey(id32)) is not { } idValue) return null;
        var position = KeyValueKeys.ReadInt64(idValue);
        var json = Get(KeyValueKeys.EventKey(position)) ?? throw new InvalidDataException($"id {id} points at missing event {position}");
        return new StoredRow(position, EventReader.ParseStoredWhole(json));
    }

    public long Head(string stream) => Get(KeyValueKeys.StreamKey(stream)) is { } value ? KeyValueKeys.ReadInt64(value) : 0;

    public IReadOnlyList<StoredRow> Holders(string address)
    {
        var holders = new List<StoredRow>(1);
        if (Get(KeyValueKeys.AddressKey(address)) is not { } positions) return holders;
        for (var offset = 0; offset < positions.Length; offset += 8)
        {
            var position = KeyValueKeys.ReadInt64(positions.AsSpan(offset));
            var json = Get(KeyValueKeys.EventKey(position)) ?? throw new InvalidDataException($"address entry points at missing event {position}");
            var holder = EventReader.ParseStoredWhole(json);
            if (holder.Address == address) holders.Add(new StoredRow(position, holder));   // else: another address with the same hash
        }
        return holders;
    }

    /// <summary>Puts the event with its index keys at the next position and moves the stream head.</summary>
    public void Insert(NostrEvent evt, string stream, long version, StoreWrite owner)
    {
        Span<byte> id32 = stackalloc byte[32];
        Span<byte> pubkey32 = stackalloc byte[32];
        if (!KeyValueKeys.TryHex32(evt.Id, id32)) throw new ArgumentException("the id must be 64 lowercase hex characters", nameof(evt));
        if (!KeyValueKeys.TryHex32(evt.Pubkey, pubkey32)) throw new ArgumentException("the pubkey must be 64 lowercase hex characters", nameof(evt));
        // The head moves with every insert, so a taken (stream, version) means a damaged head: refuse rather than overwrite.
        if (Get(KeyValueKeys.StreamVersionKey(stream, version)) is not null)
            throw new InvalidDataException($"stream {stream} already holds version {version} above its head");
        var position = ++_lastPosition;
        var positionValue = KeyValueKeys.Int64Value(position);
        _batch.Put(KeyValueKeys.EventKey(position), evt.Json);
        _batch.Put(KeyValueKeys.IdKey(id32), KeyValueKeys.IdValue(position, version, stream));
        _batch.Put(KeyValueKeys.StreamVersionKey(stream, version), positionValue);
        _batch.Put(KeyValueKeys.StreamKey(stream), KeyValueKeys.Int64Value(version));
        // Every index but the word index holds the kind and pubkey beside the position: a COUNT's or a negentropy
        // session's keys come from the index alone (KeyValueKeyCheck). A search reads its candidates in full anyway.
        var keyValue = KeyValueKeys.TagValue(position, evt.Kind, pubkey32);
        foreach (var key in KeyValueKeys.IndexKeys(evt, id32, pubkey32))
            _batch.Put(key, key[0] == KeyValueKeys.ByWord ? positionValue : keyValue);
        if (evt.Address is { } address)
        {
            var addressKey = KeyValueKeys.AddressKey(address);
            var holders = Get(addressKey) ?? [];
            _batch.Put(addressKey, (byte[])[.. holders, .. positionValue]);
        }
        if (evt.Expiration is { } expiresAt) _batch.Put(KeyValueKeys.ExpiringKey(expiresAt, position), Array.Empty<byte>());
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
        var prefix = KeyValueKeys.TagPrefix(tag, value);
        var hits = new List<long>();
        using (var iterator = _batch.OpenCursor())
        {
            for (iterator.Seek(prefix); iterator.Valid; iterator.Next())
            {
                var key = iterator.Key;
                if (!key.StartsWith(prefix)) break;
                if (KeyValueKeys.CreatedAtOfOrder(key[prefix.Length..]) < since) break;
                hits.Add(KeyValueKeys.ReadInt64(iterator.Value));
            }
        }
        foreach (var position in hits)
        {
            if (Get(KeyValueKeys.EventKey(position)) is not { } json) continue;
            var request = EventReader.ParseStoredWhole(json);
            // An engine whose cursor sees the batch finds the batch's own requests here too: they are added below.
            if (!ContainsPending(request.Id)) AddIfNamed(ref marks, request, tag, value, since);
        }
        foreach (var pending in _batchDeletionRequests) AddIfNamed(ref marks, pending, tag, value, since);
        return marks ?? (IReadOnlyList<DeletionMark>)[];
    }

    private bool ContainsPending(string id)
    {
        foreach (var pending in _batchDeletionRequests)
            if (pending.Id == id) return true;
        return false;
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
        if (!KeyValueKeys.TryHex32(stored.Id, id32) || !KeyValueKeys.TryHex32(stored.Pubkey, pubkey32))
            throw new InvalidDataException($"stored event {position} has no hex id or pubkey");
        var idKey = KeyValueKeys.IdKey(id32);
        var (_, version, stream) = KeyValueKeys.ReadIdValue(Get(idKey) ?? throw new InvalidDataException($"event {position} has no id entry"));
        foreach (var key in KeyValueKeys.IndexKeys(stored, id32, pubkey32)) _batch.Delete(key);
        _batch.Delete(KeyValueKeys.StreamVersionKey(stream, version));
        _batch.Delete(idKey);
        _batch.Delete(KeyValueKeys.EventKey(position));
        if (stored.Expiration is { } expiresAt) _batch.Delete(KeyValueKeys.ExpiringKey(expiresAt, position));
        if (stored.Address is { } address)
        {
            var addressKey = KeyValueKeys.AddressKey(address);
            var holders = Get(addressKey) ?? [];
            var kept = new List<byte>(holders.Length);
            for (var offset = 0; offset < holders.Length; offset += 8)
                if (KeyValueKeys.ReadInt64(holders.AsSpan(offset)) != position) kept.AddRange(holders.AsSpan(offset, 8));
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
