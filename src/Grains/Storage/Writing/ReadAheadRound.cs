using NostrRelay.Protocol;
using NostrRelay.Storage.Sql;

namespace NostrRelay.Storage.Writing;

/// <summary>
/// A run of queued writes that touch no id, stream or address twice, for a store behind a network (PostgreSQL,
/// MariaDB): the store reads every row the writes claimed in a few round trips, each write decides in memory in queue
/// order against what this holds, then the store applies all their changes at once. This keeps what was read and
/// answers <see cref="IWriteTransaction"/>'s reads; the store reads and writes in its own SQL. Reused by the writer:
/// <see cref="Clear"/> starts the next round.
/// </summary>
internal abstract class ReadAheadRound : IWriteTransaction, IWriteKeys
{
    /// <summary>
    /// Keys a round reads at most, unless its first write alone claims more (a deletion request may name thousands):
    /// every claimed key goes into one read statement, and a server refuses a statement over its packet limit
    /// (MariaDB's max_allowed_packet) and drops the connection, failing the whole batch.
    /// </summary>
    private const int MaxKeysPerRound = 2_000;

    private readonly List<string> _claimedIds = [], _claimedStreams = [], _claimedAddresses = [];
    private readonly Dictionary<long, StoredRow> _rows = [];
    private readonly Dictionary<string, StoredRow> _rowsById = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<StoredRow>> _rowsByAddress = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _heads = new(StringComparer.Ordinal);
    // Deletion requests naming a claimed id (e) or address (a), keyed by the letter and the value's hash.
    private readonly Dictionary<string, List<DeletionMark>> _deletionRequests = new(StringComparer.Ordinal);

    /// <summary>The ids the round's writes claimed: the store reads the events stored under them, and the deletion requests naming them.</summary>
    protected HashSet<string> Ids { get; } = new(StringComparer.Ordinal);

    /// <summary>The streams the round's writes claimed: the store reads their heads.</summary>
    protected HashSet<string> Streams { get; } = new(StringComparer.Ordinal);

    /// <summary>The addresses the round's writes claimed: the store reads their holders, and the deletion requests naming them.</summary>
    protected HashSet<string> Addresses { get; } = new(StringComparer.Ordinal);

    public virtual void Clear()
    {
        Ids.Clear();
        Streams.Clear();
        Addresses.Clear();
        _rows.Clear();
        _rowsById.Clear();
        _rowsByAddress.Clear();
        _heads.Clear();
        _deletionRequests.Clear();
    }

    /// <summary>
    /// Joins the write to the round unless an earlier write of it claimed one of the same keys (see
    /// <see cref="StoreWrite.Claim"/>) or the round has keys enough; then it waits for the next round, which reads what
    /// this one wrote. So every decision in a round reads rows as the writes before it in the batch left them. Nothing
    /// is claimed on false.
    /// </summary>
    public bool TryJoin(StoreWrite write)
    {
        _claimedIds.Clear();
        _claimedStreams.Clear();
        _claimedAddresses.Clear();
        write.Claim(this);
        var claimed = Ids.Count + Streams.Count + Addresses.Count;
        if (claimed > 0 && claimed + _claimedIds.Count + _claimedStreams.Count + _claimedAddresses.Count > MaxKeysPerRound) return false;
        foreach (var id in _claimedIds) if (Ids.Contains(id)) return false;
        foreach (var stream in _claimedStreams) if (Streams.Contains(stream)) return false;
        foreach (var address in _claimedAddresses) if (Addresses.Contains(address)) return false;
        foreach (var id in _claimedIds) Ids.Add(id);
        foreach (var stream in _claimedStreams) Streams.Add(stream);
        foreach (var address in _claimedAddresses) Addresses.Add(address);
        return true;
    }

    void IWriteKeys.Id(string id) => _claimedIds.Add(id);

    void IWriteKeys.Stream(string stream) => _claimedStreams.Add(stream);

    void IWriteKeys.Address(string address) => _claimedAddresses.Add(address);

    /// <summary>The row already read at this position, so a row read both by id and by address is one object.</summary>
    protected bool TryGetRow(long position, out StoredRow row) => _rows.TryGetValue(position, out row!);

    /// <summary>A row read by the store: found by its id, and by <paramref name="address"/> when it was read as one of its holders.</summary>
    protected void AddRow(StoredRow row, string? address = null)
    {
        _rows.TryAdd(row.Position, row);
        _rowsById[row.Id] = row;
        if (address is null) return;
        if (!_rowsByAddress.TryGetValue(address, out var holders)) _rowsByAddress[address] = holders = new List<StoredRow>(1);
        holders.Add(row);
    }

    protected void SetHead(string stream, long version) => _heads[stream] = version;

    /// <summary>A stored deletion request whose <paramref name="name"/> tag has the value hashed to <paramref name="valueHash"/>.</summary>
    protected void AddDeletionRequest(int name, ReadOnlySpan<byte> valueHash, DeletionMark mark)
    {
        var key = DeletionKey(name, valueHash);
        if (!_deletionRequests.TryGetValue(key, out var marks)) _deletionRequests[key] = marks = new List<DeletionMark>(1);
        marks.Add(mark);
    }

    /// <summary>Read ahead for the claimed ids and addresses only (a request inserted earlier in the batch is in the table by now).</summary>
    public IReadOnlyList<DeletionMark> DeletionRequests(char tag, string value, long since)
    {
        if (_deletionRequests.Count == 0 || !_deletionRequests.TryGetValue(DeletionKey(TagKeys.Name(tag), TagKeys.HashValue(value)), out var marks))
            return [];
        if (since <= 0) return marks;
        var kept = new List<DeletionMark>(marks.Count);
        foreach (var mark in marks) if (mark.CreatedAt >= since) kept.Add(mark);
        return kept;
    }

    private static string DeletionKey(int name, ReadOnlySpan<byte> valueHash) => string.Create(null, stackalloc char[80], $"{name}:{Convert.ToHexString(valueHash)}");

    /// <summary>The stored event with this id, unless a write of this round removed it.</summary>
    public StoredRow? FindById(string id) => _rowsById.TryGetValue(id, out var row) && !row.Removed ? row : null;

    public long Head(string stream) => _heads.TryGetValue(stream, out var version) ? version : 0;

    /// <summary>The events holding the address (normally one), less those a write of this round removed.</summary>
    public IReadOnlyList<StoredRow> Holders(string address)
    {
        if (!_rowsByAddress.TryGetValue(address, out var holders)) return [];
        foreach (var holder in holders)
        {
            if (!holder.Removed) continue;
            var kept = new List<StoredRow>(holders.Count);
            foreach (var row in holders) if (!row.Removed) kept.Add(row);
            return kept;
        }
        return holders;
    }

    public abstract void Remove(StoredRow row);

    public abstract void Insert(NostrEvent evt, string stream, long version, StoreWrite owner);
}
