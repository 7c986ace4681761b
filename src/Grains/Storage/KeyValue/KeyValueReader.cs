using System.Buffers.Binary;
using NostrRelay.Protocol;

namespace NostrRelay.Storage.KeyValue;

/// <summary>
/// Reads of one snapshot: every method takes a consistent view, so a supersede committed meanwhile is seen
/// whole or not at all. Index scans run one cursor per plan prefix, each newest first from its own order, and
/// merge them by the order key; an event reached through two values (two listed tag values) comes up twice in a
/// row and is read once. Synchronous, and nothing is held between calls.
/// </summary>
internal static class KeyValueReader
{
    /// <summary>Entries a cursor reads per seek: about its share of the page, within these bounds.</summary>
    private const int MinPerRefill = 4, MaxPerRefill = 256;

    /// <summary>The events with the filter's ids that match it, in NIP-01 order.</summary>
    public static List<NostrEvent> ReadByIds(IKeyValueEngine db, Filter filter)
    {
        var found = new List<NostrEvent>();
        using var snapshot = db.OpenSnapshot();
        Span<byte> id32 = stackalloc byte[32];
        foreach (var id in new HashSet<string>(filter.Ids!, StringComparer.Ordinal))
        {
            if (!KeyValueKeys.TryHex32(id, id32)) continue;
            if (snapshot.Get(KeyValueKeys.IdKey(id32)) is not { } idValue) continue;
            var json = snapshot.Get(KeyValueKeys.EventKey(KeyValueKeys.ReadInt64(idValue)))
                ?? throw new InvalidDataException($"id {id} points at a missing event");
            var evt = EventReader.ParseStored(json);
            if (filter.Matches(evt)) found.Add(evt);
        }
        found.Sort(NostrEvent.CompareNewestFirst);
        return found;
    }

    /// <summary>
    /// Scans the plan's prefixes after <paramref name="after"/> (an order key; null: from the start) and adds the
    /// matching events to <paramref name="page"/> (or only counts them when it is null) until <paramref name="take"/>
    /// matched or <paramref name="maxCandidates"/> were looked at. <paramref name="lastScanned"/> gets the order key
    /// of the last candidate looked at, where the next call resumes. True when the scan reached the end.
    /// </summary>
    public static bool Scan(IKeyValueEngine db, Filter filter, KeyValueScanPlan plan, byte[]? after, int take, int maxCandidates,
        List<NostrEvent>? page, ref long matched, byte[] lastScanned, KeyValueKeyCheck? keyCheck = null)
    {
        var start = StartOrder(filter.Until, after);
        var sinceBound = filter.Since is { } since ? KeyValueKeys.InvertedTime(since) : ulong.MaxValue;
        using var snapshot = db.OpenSnapshot();
        // One cursor serves every prefix: creating one costs far more than a seek, and a filter may list hundreds of authors.
        using var iterator = snapshot.OpenCursor();
        var perRefill = Math.Clamp(take / plan.Prefixes.Length + 2, MinPerRefill, MaxPerRefill);
        var cursors = new PriorityQueue<Cursor, Cursor>(plan.Prefixes.Length, Cursor.NewestFirst);
        foreach (var prefix in plan.Prefixes)
        {
            var cursor = new Cursor(prefix, sinceBound, perRefill);
            if (cursor.Fill(iterator, start, exclusive: after is not null && ReferenceEquals(start, after))) cursors.Enqueue(cursor, cursor);
        }
        var candidates = 0;
        var previous = false;
        while (cursors.TryDequeue(out var cursor, out _))
        {
            if (previous && cursor.Order.SequenceEqual(lastScanned))
            {
                if (cursor.MoveNext(iterator)) cursors.Enqueue(cursor, cursor);
                continue;
            }
            cursor.Order.CopyTo(lastScanned);
            previous = true;
            candidates++;
            if (plan.Exact && page is null && keyCheck is null) matched++;
            else if (page is null && keyCheck is not null && cursor.Kind >= 0)
            {
                if (keyCheck.Matches(cursor.Kind, cursor.Pubkey, cursor.Order)) matched++;
            }
            else
            {
                var json = snapshot.Get(KeyValueKeys.EventKey(cursor.Position))
                    ?? throw new InvalidDataException($"index entry points at missing event {cursor.Position}");
                var evt = EventReader.ParseStored(json);
                if (filter.Matches(evt))
                {
                    page?.Add(evt);
                    keyCheck?.Add(evt);
                    matched++;
                }
            }
            if (cursor.MoveNext(iterator)) cursors.Enqueue(cursor, cursor);
            if (matched >= take || candidates >= maxCandidates) return cursors.Count == 0;
        }
        return true;
    }

    /// <summary>The stored events after a position, in position order, with their streams and versions.</summary>
    public static void ReadAll(IKeyValueEngine db, long afterPosition, int take, List<StoredEvent> page)
    {
        if (afterPosition == long.MaxValue) return;
        using var snapshot = db.OpenSnapshot();
        using var iterator = snapshot.OpenCursor();
        // Positions start at 1; a negative key would sort after every real one (big-endian, two's complement).
        iterator.Seek(KeyValueKeys.EventKey(Math.Max(afterPosition, 0) + 1));
        Span<byte> id32 = stackalloc byte[32];
        while (page.Count < take && iterator.Valid)
        {
            var key = iterator.Key;
            if (key.Length != 9 || key[0] != KeyValueKeys.Event) break;
            var evt = EventReader.ParseStored(iterator.Value.ToArray());
            if (!KeyValueKeys.TryHex32(evt.Id, id32)) throw new InvalidDataException($"stored event {evt.Id} has no hex id");
            var (position, version, stream) = KeyValueKeys.ReadIdValue(snapshot.Get(KeyValueKeys.IdKey(id32))
                ?? throw new InvalidDataException($"stored event {evt.Id} has no id entry"));
            page.Add(new StoredEvent(evt, stream, version, position));
            iterator.Next();
        }
    }

    /// <summary>
    /// The stored events of a stream after a version, in version order: a scan of the stream's (stream, version)
    /// keys, which the writer deletes with their event, then one point read per event.
    /// </summary>
    public static void ReadStream(IKeyValueEngine db, string stream, long afterVersion, int take, List<StoredEvent> page)
    {
        if (afterVersion == long.MaxValue) return;
        using var snapshot = db.OpenSnapshot();
        using var iterator = snapshot.OpenCursor();
        // Versions start at 1; a negative key would sort after every real one (big-endian, two's complement).
        var start = KeyValueKeys.StreamVersionKey(stream, Math.Max(afterVersion, 0) + 1);
        var prefixLength = start.Length - 8;   // 'v', the stream's length, the stream: one stream's keys and no other's
        iterator.Seek(start);
        while (page.Count < take && iterator.Valid)
        {
            var key = iterator.Key;
            if (key.Length != start.Length || !key.StartsWith(start.AsSpan(0, prefixLength))) break;
            var version = KeyValueKeys.ReadInt64(key[prefixLength..]);
            var position = KeyValueKeys.ReadInt64(iterator.Value);
            var json = snapshot.Get(KeyValueKeys.EventKey(position))
                ?? throw new InvalidDataException($"stream {stream} version {version} points at missing event {position}");
            page.Add(new StoredEvent(EventReader.ParseStored(json), stream, version, position));
            iterator.Next();
        }
    }

    public static long ReadHead(IKeyValueEngine db, string stream) =>
        db.Get(KeyValueKeys.StreamKey(stream)) is { } value ? KeyValueKeys.ReadInt64(value) : 0;

    /// <summary>Where a scan starts: at <paramref name="until"/> (inclusive), or at the resume point when that is later in scan order.</summary>
    private static byte[] StartOrder(long? until, byte[]? after)
    {
        var start = new byte[KeyValueKeys.OrderLength];
        BinaryPrimitives.WriteUInt64BigEndian(start, until is { } u ? KeyValueKeys.InvertedTime(u) : 0);
        return after is not null && after.AsSpan().SequenceCompareTo(start) > 0 ? after : start;
    }

    /// <summary>
    /// One prefix's entries within the since bound, read a few at a time from the shared iterator: each refill seeks
    /// to just after the last entry read, so the cursors of a scan take turns on one iterator.
    /// </summary>
    private sealed class Cursor(byte[] prefix, ulong sinceBound, int perRefill)
    {
        public static readonly IComparer<Cursor> NewestFirst = Comparer<Cursor>.Create((a, b) => a.Order.SequenceCompareTo(b.Order));

        private readonly byte[] _orders = new byte[perRefill * KeyValueKeys.OrderLength];
        private readonly long[] _positions = new long[perRefill];
        private readonly int[] _kinds = new int[perRefill];
        private readonly byte[] _pubkeys = new byte[perRefill * 32];
        private int _count;
        private int _index;
        private bool _ended;

        /// <summary>The order key of the current entry (inverted created_at, id).</summary>
        public ReadOnlySpan<byte> Order => _orders.AsSpan(_index * KeyValueKeys.OrderLength, KeyValueKeys.OrderLength);

        public long Position => _positions[_index];

        /// <summary>The event's kind, from an index key's value (<see cref="KeyValueKeys.TagValue"/>); -1 when the value holds only the position.</summary>
        public int Kind => _kinds[_index];

        /// <summary>The event's pubkey (32 bytes), valid when <see cref="Kind"/> is not -1.</summary>
        public ReadOnlySpan<byte> Pubkey => _pubkeys.AsSpan(_index * 32, 32);

        public bool MoveNext(IKeyValueCursor iterator)
        {
            if (++_index < _count) return true;
            if (_ended) return false;
            var last = _orders.AsSpan((_count - 1) * KeyValueKeys.OrderLength, KeyValueKeys.OrderLength).ToArray();
            return Fill(iterator, last, exclusive: true);
        }

        /// <summary>Reads the next entries from <paramref name="from"/> on (after it, when exclusive); false when there are none.</summary>
        public bool Fill(IKeyValueCursor iterator, byte[] from, bool exclusive)
        {
            _count = 0;
            _index = 0;
            iterator.Seek(KeyValueKeys.IndexKey(prefix, from));
            var first = true;
            while (_count < perRefill && iterator.Valid)
            {
                var key = iterator.Key;
                if (key.Length != prefix.Length + KeyValueKeys.OrderLength || !key.StartsWith(prefix)) break;
                var order = key[prefix.Length..];
                if (BinaryPrimitives.ReadUInt64BigEndian(order) > sinceBound) break;
                if (!(first && exclusive && order.SequenceEqual(from)))
                {
                    order.CopyTo(_orders.AsSpan(_count * KeyValueKeys.OrderLength));
                    var value = iterator.Value;
                    _positions[_count] = KeyValueKeys.ReadInt64(value);
                    if (value.Length == KeyValueKeys.TagValueLength)
                    {
                        _kinds[_count] = BinaryPrimitives.ReadInt32BigEndian(value[8..]);
                        value[12..].CopyTo(_pubkeys.AsSpan(_count * 32));
                    }
                    else _kinds[_count] = -1;
                    _count++;
                }
                first = false;
                iterator.Next();
            }
            _ended = _count < perRefill;
            return _count > 0;
        }
    }

    /// <summary>The ids of events expired by <paramref name="now"/>, soonest first: a scan of the 'x' keys that stops at now.</summary>
    public static List<string> ReadExpired(IKeyValueEngine db, long now, int max)
    {
        var ids = new List<string>();
        using var snapshot = db.OpenSnapshot();
        using var iterator = snapshot.OpenCursor();
        for (iterator.Seek([KeyValueKeys.Expiring]); iterator.Valid && ids.Count < max; iterator.Next())
        {
            var key = iterator.Key;
            if (key.Length != 17 || key[0] != KeyValueKeys.Expiring) break;
            if (KeyValueKeys.ReadInt64(key[1..]) > now) break;
            if (snapshot.Get(KeyValueKeys.EventKey(KeyValueKeys.ReadInt64(key[9..]))) is { } json)
                ids.Add(EventReader.ParseStored(json).Id);
        }
        return ids;
    }

    /// <summary>
    /// Puts the 'W' keys (NIP-50's word index) of every stored event, once, for a database written before those keys
    /// existed; the marker says it is done. Runs at open, before the writer starts, in batches.
    /// </summary>
    public static void IndexWords(IKeyValueEngine db)
    {
        using (var snapshot = db.OpenSnapshot())
            if (snapshot.Get(KeyValueKeys.WordsIndexed) is not null) return;
        var pending = new List<(byte[] Key, byte[] Value)>();
        Span<byte> id32 = stackalloc byte[32];
        Span<byte> order = stackalloc byte[KeyValueKeys.OrderLength];
        var after = new byte[] { KeyValueKeys.Event };
        while (true)
        {
            // A snapshot per page: LMDB allows no write while this thread holds a read transaction.
            var read = 0;
            using (var snapshot = db.OpenSnapshot())
            using (var iterator = snapshot.OpenCursor())
            {
                for (iterator.Seek(after); iterator.Valid && read < 10_000; iterator.Next())
                {
                    var key = iterator.Key;
                    if (key.Length != 9 || key[0] != KeyValueKeys.Event) break;
                    read++;
                    after = KeyValueKeys.EventKey(KeyValueKeys.PositionOfEventKey(key) + 1);
                    NostrEvent evt;
                    try
                    {
                        evt = EventReader.ParseStored(iterator.Value.ToArray());
                        if (evt.Content.Length == 0 || !KeyValueKeys.TryHex32(evt.Id, id32)) continue;   // reads the whole event
                    }
                    catch (Exception ex) when (ex is System.Text.Json.JsonException or FormatException or InvalidOperationException) { continue; }
                    KeyValueKeys.WriteOrder(order, evt.CreatedAt, id32);
                    var position = KeyValueKeys.Int64Value(KeyValueKeys.PositionOfEventKey(key));
                    foreach (var wordKey in KeyValueKeys.WordKeys(evt.Content, order)) pending.Add((wordKey, position));
                }
            }
            if (read == 0) break;
            Write(db, pending);
            pending.Clear();
        }
        Write(db, [(KeyValueKeys.WordsIndexed, [1])]);
    }

    /// <summary>
    /// Puts the 'x' key of every stored event with an expiration, once, for a database written before those keys
    /// existed; the marker says it is done. Runs at open, before the writer starts.
    /// </summary>
    public static void IndexExpirations(IKeyValueEngine db)
    {
        var pending = new List<(byte[] Key, byte[] Value)>();
        using (var snapshot = db.OpenSnapshot())
        {
            if (snapshot.Get(KeyValueKeys.ExpirationsIndexed) is not null) return;
            using var iterator = snapshot.OpenCursor();
            for (iterator.Seek([KeyValueKeys.Event]); iterator.Valid; iterator.Next())
            {
                var key = iterator.Key;
                if (key.Length != 9 || key[0] != KeyValueKeys.Event) break;
                if (EventReader.ParseStored(iterator.Value.ToArray()).Expiration is { } expiresAt)
                    pending.Add((KeyValueKeys.ExpiringKey(expiresAt, KeyValueKeys.PositionOfEventKey(key)), []));
            }
        }
        pending.Add((KeyValueKeys.ExpirationsIndexed, [1]));
        Write(db, pending);
    }

    private static void Write(IKeyValueEngine db, List<(byte[] Key, byte[] Value)> entries)
    {
        while (true)
        {
            using var batch = db.OpenBatch();
            try
            {
                foreach (var (key, value) in entries) batch.Put(key, value);
                batch.Commit();
                return;
            }
            catch (KeyValueFullException)
            {
                batch.Abandon();
            }
            db.MakeRoom();
        }
    }
}
