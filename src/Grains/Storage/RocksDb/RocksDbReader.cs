using System.Buffers.Binary;
using NostrRelay.Protocol;
using RocksDbSharp;
using NativeRocksDb = RocksDbSharp.RocksDb;

namespace NostrRelay.Storage.RocksDb;

/// <summary>
/// Reads of one snapshot: every method takes a consistent view, so a supersede committed meanwhile is seen
/// whole or not at all. Index scans run one cursor per plan prefix, each newest first from its own order, and
/// merge them by the order key; an event reached through two values (two listed tag values) comes up twice in a
/// row and is read once. Synchronous, and nothing is held between calls.
/// </summary>
internal static class RocksDbReader
{
    /// <summary>The events with the filter's ids that match it, in NIP-01 order.</summary>
    public static List<NostrEvent> ReadByIds(NativeRocksDb db, Filter filter)
    {
        var found = new List<NostrEvent>();
        using var snapshot = db.CreateSnapshot();
        var read = new ReadOptions().SetSnapshot(snapshot);
        Span<byte> id32 = stackalloc byte[32];
        foreach (var id in new HashSet<string>(filter.Ids!, StringComparer.Ordinal))
        {
            if (!RocksDbKeys.TryHex32(id, id32)) continue;
            if (db.Get(RocksDbKeys.IdKey(id32), null, read) is not { } idValue) continue;
            var json = db.Get(RocksDbKeys.EventKey(RocksDbKeys.ReadInt64(idValue)), null, read)
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
    public static bool Scan(NativeRocksDb db, Filter filter, RocksDbScanPlan plan, byte[]? after, int take, int maxCandidates,
        List<NostrEvent>? page, ref long matched, byte[] lastScanned)
    {
        var start = StartOrder(filter.Until, after);
        var sinceBound = filter.Since is { } since ? RocksDbKeys.InvertedTime(since) : ulong.MaxValue;
        using var snapshot = db.CreateSnapshot();
        var read = new ReadOptions().SetSnapshot(snapshot);
        var cursors = new PriorityQueue<Cursor, Cursor>(plan.Prefixes.Length, Cursor.NewestFirst);
        var open = new List<Cursor>(plan.Prefixes.Length);
        try
        {
            foreach (var prefix in plan.Prefixes)
            {
                var cursor = new Cursor(db.NewIterator(null, read), prefix, sinceBound);
                open.Add(cursor);
                cursor.Iterator.Seek(RocksDbKeys.IndexKey(prefix, start));
                var ready = cursor.Load();
                if (ready && after is not null && cursor.Order.AsSpan().SequenceEqual(after)) ready = cursor.Advance();
                if (ready) cursors.Enqueue(cursor, cursor);
            }
            var candidates = 0;
            var previous = false;
            while (cursors.TryDequeue(out var cursor, out _))
            {
                if (previous && cursor.Order.AsSpan().SequenceEqual(lastScanned))
                {
                    if (cursor.Advance()) cursors.Enqueue(cursor, cursor);
                    continue;
                }
                cursor.Order.CopyTo(lastScanned, 0);
                previous = true;
                candidates++;
                if (plan.Exact && page is null) matched++;
                else
                {
                    var json = db.Get(RocksDbKeys.EventKey(cursor.Position), null, read)
                        ?? throw new InvalidDataException($"index entry points at missing event {cursor.Position}");
                    var evt = EventReader.ParseStored(json);
                    if (filter.Matches(evt))
                    {
                        page?.Add(evt);
                        matched++;
                    }
                }
                if (cursor.Advance()) cursors.Enqueue(cursor, cursor);
                if (matched >= take || candidates >= maxCandidates) return cursors.Count == 0;
            }
            return true;
        }
        finally
        {
            foreach (var cursor in open) cursor.Iterator.Dispose();
        }
    }

    /// <summary>The stored events after a position, in position order, with their streams and versions.</summary>
    public static void ReadAll(NativeRocksDb db, long afterPosition, int take, List<StoredEvent> page)
    {
        using var snapshot = db.CreateSnapshot();
        var read = new ReadOptions().SetSnapshot(snapshot);
        using var iterator = db.NewIterator(null, read);
        iterator.Seek(RocksDbKeys.EventKey(afterPosition + 1));
        Span<byte> id32 = stackalloc byte[32];
        while (page.Count < take && iterator.Valid())
        {
            var key = iterator.GetKeySpan();
            if (key.Length != 9 || key[0] != RocksDbKeys.Event) break;
            var evt = EventReader.ParseStored(iterator.Value());
            if (!RocksDbKeys.TryHex32(evt.Id, id32)) throw new InvalidDataException($"stored event {evt.Id} has no hex id");
            var (position, version, stream) = RocksDbKeys.ReadIdValue(db.Get(RocksDbKeys.IdKey(id32), null, read)
                ?? throw new InvalidDataException($"stored event {evt.Id} has no id entry"));
            page.Add(new StoredEvent(evt, stream, version, position));
            iterator.Next();
        }
    }

    public static long ReadHead(NativeRocksDb db, string stream) =>
        db.Get(RocksDbKeys.StreamKey(stream)) is { } value ? RocksDbKeys.ReadInt64(value) : 0;

    /// <summary>Where a scan starts: at <paramref name="until"/> (inclusive), or at the resume point when that is later in scan order.</summary>
    private static byte[] StartOrder(long? until, byte[]? after)
    {
        var start = new byte[RocksDbKeys.OrderLength];
        BinaryPrimitives.WriteUInt64BigEndian(start, until is { } u ? RocksDbKeys.InvertedTime(u) : 0);
        return after is not null && after.AsSpan().SequenceCompareTo(start) > 0 ? after : start;
    }

    /// <summary>One prefix's iterator, positioned on an index key within the prefix and the since bound.</summary>
    private sealed class Cursor(Iterator iterator, byte[] prefix, ulong sinceBound)
    {
        public static readonly IComparer<Cursor> NewestFirst = Comparer<Cursor>.Create((a, b) => a.Order.AsSpan().SequenceCompareTo(b.Order));

        public Iterator Iterator { get; } = iterator;

        /// <summary>The order key of the current entry (inverted created_at, id).</summary>
        public byte[] Order { get; } = new byte[RocksDbKeys.OrderLength];

        public long Position { get; private set; }

        public bool Advance()
        {
            Iterator.Next();
            return Load();
        }

        /// <summary>Reads the entry under the iterator; false once it left the prefix or passed since.</summary>
        public bool Load()
        {
            if (!Iterator.Valid()) return false;
            var key = Iterator.GetKeySpan();
            if (key.Length != prefix.Length + RocksDbKeys.OrderLength || !key.StartsWith(prefix)) return false;
            var order = key[prefix.Length..];
            if (BinaryPrimitives.ReadUInt64BigEndian(order) > sinceBound) return false;
            order.CopyTo(Order);
            Position = RocksDbKeys.ReadInt64(Iterator.GetValueSpan());
            return true;
        }
    }
}
