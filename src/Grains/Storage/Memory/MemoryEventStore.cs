using System.Runtime.CompilerServices;
using NostrRelay.Protocol;
using NostrRelay.Storage.Paging;
using NostrRelay.Storage.Writing;

namespace NostrRelay.Storage.Memory;

/// <summary>
/// An event store in process memory, for tests and tools: every call takes one lock and scans, so it is
/// obviously correct rather than fast. Same semantics as the durable stores; events come back parsed from
/// the bytes that were saved, as a durable store returns them.
/// </summary>
public sealed class MemoryEventStore : IEventStore
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, StoredEvent> _byId = new(StringComparer.Ordinal);
    private readonly SortedDictionary<long, StoredEvent> _byPosition = [];

    /// <summary>NIP-50's token index: each word of a content, the positions of the events that have it.</summary>
    private readonly Dictionary<string, HashSet<long>> _byWord = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _heads = new(StringComparer.Ordinal);
    private readonly Dictionary<long, StoredEvent> _deletionRequests = [];   // kind 5 by position: what a save checks
    private long _lastPosition;
    private readonly MemoryTransaction _transaction;

    public MemoryEventStore()
    {
        _transaction = new MemoryTransaction(this);
    }

    /// <summary>
    /// A store holding <paramref name="events"/>, each appended to the stream of its author in order;
    /// replaceable and addressable events replace as <see cref="ReplaceAsync"/> does, and repeated ids are skipped.
    /// </summary>
    public MemoryEventStore(IEnumerable<NostrEvent> events) : this()
    {
        ArgumentNullException.ThrowIfNull(events);
        foreach (var evt in events)
        {
            var head = _heads.GetValueOrDefault(evt.Pubkey);
            Write(evt, evt.Pubkey, head, replace: evt.Address is not null);
        }
    }

    public Task InitAsync(CancellationToken cancellationToken = default) => Task.CompletedTask;

    public Task<SaveResult> SaveAsync(NostrEvent evt, string stream, long expectedVersion, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(evt);
        ArgumentNullException.ThrowIfNull(stream);
        cancellationToken.ThrowIfCancellationRequested();
        return Task.FromResult(Write(evt, stream, expectedVersion, replace: false));
    }

    public Task<SaveResult> ReplaceAsync(NostrEvent evt, string stream, long expectedVersion, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(evt);
        ArgumentNullException.ThrowIfNull(stream);
        if (evt.Address is null) throw new ArgumentException("only replaceable and addressable events are replaced", nameof(evt));
        cancellationToken.ThrowIfCancellationRequested();
        return Task.FromResult(Write(evt, stream, expectedVersion, replace: true));
    }

    /// <summary>The same rules as the durable stores (<see cref="SaveWrite"/>), decided under the lock.</summary>
    private SaveResult Write(NostrEvent evt, string stream, long expectedVersion, bool replace)
    {
        var write = new SaveWrite(evt, stream, expectedVersion, replace, CancellationToken.None);
        lock (_lock) write.Decide(_transaction);
        write.Complete();
        return write.Task.Result;
    }

    /// <summary>NIP-50 by its token index: the events with the query's rarest word, checked for the others, ranked by <see cref="SearchRanking"/>.</summary>
    public bool CanSearch => true;

    /// <summary>The events that may hold every word: those with the word fewest events have (under the lock).</summary>
    private IEnumerable<StoredEvent> SearchCandidates(SearchQuery search)
    {
        HashSet<long>? rarest = null;
        foreach (var term in search.Terms)
        {
            if (!_byWord.TryGetValue(term, out var positions)) return [];
            if (rarest is null || positions.Count < rarest.Count) rarest = positions;
        }
        var candidates = new List<StoredEvent>(rarest!.Count);
        foreach (var position in rarest) candidates.Add(_byPosition[position]);
        return candidates;
    }

    public async IAsyncEnumerable<NostrEvent> QueryAsync(Filter filter, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(filter);
        var (structural, search) = SearchRanking.Split(filter);
        var matches = new List<NostrEvent>();
        lock (_lock)
        {
            if (!filter.CannotMatch)
                foreach (var stored in search is null ? _byPosition.Values : SearchCandidates(search))
                    if (structural.Matches(stored.Event) && (search?.Matches(stored.Event.Content) ?? true)) matches.Add(stored.Event);
        }
        var limit = Math.Max(0, filter.Limit ?? int.MaxValue);
        if (search is not null) matches = SearchRanking.Best(matches, search, limit);
        else matches.Sort(NostrEvent.CompareNewestFirst);
        for (var i = 0; i < matches.Count && i < limit; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return matches[i];
        }
        await Task.CompletedTask.ConfigureAwait(false);
    }

    public async IAsyncEnumerable<EventKey> ReadKeysAsync(Filter filter, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(filter);
        var keys = new List<EventKey>();
        lock (_lock)
        {
            if (!filter.CannotMatch)
                foreach (var stored in _byPosition.Values)
                    if (filter.Matches(stored.Event)) keys.Add(new EventKey(stored.Event.Id, stored.Event.Pubkey, stored.Event.Kind, stored.Event.CreatedAt));
        }
        foreach (var key in keys)
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return key;
        }
        await Task.CompletedTask.ConfigureAwait(false);
    }

    public Task<long> CountAsync(Filter filter, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(filter);
        long count = 0;
        lock (_lock)
        {
            if (!filter.CannotMatch)
                foreach (var stored in _byPosition.Values)
                    if (filter.Matches(stored.Event)) count++;
        }
        return Task.FromResult(count);
    }

    public async IAsyncEnumerable<string> ReadExpiredAsync(long now, int max, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var expired = new List<(long At, string Id)>();
        lock (_lock)
        {
            foreach (var stored in _byPosition.Values)
                if (stored.Event.Expiration is { } at && at <= now) expired.Add((at, stored.Event.Id));
        }
        expired.Sort();
        for (var i = 0; i < expired.Count && i < max; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return expired[i].Id;
        }
        await Task.CompletedTask.ConfigureAwait(false);
    }

    public Task<bool> DeleteAsync(string id, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(id);
        var write = new DeleteWrite(id, cancellationToken);
        lock (_lock) write.Decide(_transaction);
        write.Complete();
        return write.Task;
    }

    public Task<long> ReadStreamHeadAsync(string stream, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(stream);
        lock (_lock) return Task.FromResult(_heads.GetValueOrDefault(stream));
    }

    public async IAsyncEnumerable<StoredEvent> ReadAllAsync(long afterPosition, int max, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var page = new List<StoredEvent>();
        lock (_lock)
        {
            foreach (var (position, stored) in _byPosition)
            {
                if (page.Count >= max) break;
                if (position > afterPosition) page.Add(stored);
            }
        }
        foreach (var stored in page)
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return stored;
        }
        await Task.CompletedTask.ConfigureAwait(false);
    }

    public async IAsyncEnumerable<StoredEvent> ReadStreamAsync(string stream, long afterVersion, int max, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var page = new List<StoredEvent>();
        lock (_lock)
        {
            foreach (var stored in _byPosition.Values)
                if (stored.Version > afterVersion && string.Equals(stored.Stream, stream, StringComparison.Ordinal)) page.Add(stored);
        }
        page.Sort(static (a, b) => a.Version.CompareTo(b.Version));
        for (var i = 0; i < page.Count && i < max; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return page[i];
        }
        await Task.CompletedTask.ConfigureAwait(false);
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    /// <summary><see cref="IWriteTransaction"/> over the dictionaries, by scanning; used under the lock.</summary>
    private sealed class MemoryTransaction(MemoryEventStore store) : IWriteTransaction
    {
        public StoredRow? FindById(string id) =>
            store._byId.TryGetValue(id, out var stored) ? new StoredRow(stored.Position, stored.Event) : null;

        public long Head(string stream) => store._heads.GetValueOrDefault(stream);

        public IReadOnlyList<StoredRow> Holders(string address)
        {
            var holders = new List<StoredRow>();
            foreach (var stored in store._byPosition.Values)
                if (stored.Event.Address == address) holders.Add(new StoredRow(stored.Position, stored.Event));
            return holders;
        }

        public IReadOnlyList<DeletionMark> DeletionRequests(char tag, string value, long since)
        {
            var marks = new List<DeletionMark>();
            foreach (var stored in store._deletionRequests.Values)
            {
                var evt = stored.Event;
                if (evt.CreatedAt < since) continue;
                foreach (var named in evt.Tags)
                {
                    if (named.Length < 2 || named[0].Length != 1 || named[0][0] != tag || named[1] != value) continue;
                    marks.Add(new DeletionMark(evt.Pubkey, evt.CreatedAt));
                    break;
                }
            }
            return marks;
        }

        // The stream head is left alone: a deleted event's version is never handed out again.
        public void Remove(StoredRow row)
        {
            store._byId.Remove(row.Id);
            store._byPosition.Remove(row.Position);
            store._deletionRequests.Remove(row.Position);
            foreach (var word in SearchQuery.IndexedWords(row.Event.Content, distinct: true))
                if (store._byWord.TryGetValue(word, out var positions) && positions.Remove(row.Position) && positions.Count == 0) store._byWord.Remove(word);
        }

        public void Insert(NostrEvent evt, string stream, long version, StoreWrite owner)
        {
            var position = ++store._lastPosition;
            // Kept as parsed from the saved bytes, as a durable store would give it back.
            var entry = new StoredEvent(EventReader.ParseStored(evt.Json.ToArray()), stream, version, position);
            store._byId.Add(evt.Id, entry);
            store._byPosition.Add(position, entry);
            if (evt.Kind == DeletionRules.DeletionRequestKind) store._deletionRequests.Add(position, entry);
            foreach (var word in SearchQuery.IndexedWords(evt.Content, distinct: true))
            {
                if (!store._byWord.TryGetValue(word, out var positions)) store._byWord[word] = positions = [];
                positions.Add(position);
            }
            store._heads[stream] = version;
            owner.Inserted(position);
        }
    }
}
