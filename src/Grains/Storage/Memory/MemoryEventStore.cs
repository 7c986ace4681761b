// TEMP STUB, replaced by the store branch
using System.Runtime.CompilerServices;
using NostrRelay.Protocol;
namespace NostrRelay.Storage.Memory;
public sealed class MemoryEventStore : IEventStore
{
    private readonly object _gate = new();
    private readonly List<StoredEvent> _events = [];
    private readonly Dictionary<string, long> _heads = [];
    private long _position;
    public Task InitAsync(CancellationToken c = default) => Task.CompletedTask;
    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    public Task<SaveResult> SaveAsync(NostrEvent evt, string stream, long expectedVersion, CancellationToken c = default) => Task.FromResult(Save(evt, stream, expectedVersion, false));
    public Task<SaveResult> ReplaceAsync(NostrEvent evt, string stream, long expectedVersion, CancellationToken c = default) => Task.FromResult(Save(evt, stream, expectedVersion, true));
    private SaveResult Save(NostrEvent evt, string stream, long expected, bool replace)
    {
        lock (_gate)
        {
            if (_events.Exists(e => e.Event.Id == evt.Id)) return SaveResult.Duplicate;
            if (_heads.GetValueOrDefault(stream) != expected) return SaveResult.VersionConflict;
            if (replace)
            {
                var same = _events.FindAll(e => e.Event.Address == evt.Address);
                if (same.Exists(e => !evt.Supersedes(e.Event.CreatedAt, e.Event.Id))) return SaveResult.Superseded;
                _events.RemoveAll(e => e.Event.Address == evt.Address);
            }
            _heads[stream] = expected + 1;
            _events.Add(new StoredEvent(evt, stream, expected + 1, ++_position));
            return new SaveResult(SaveOutcome.Saved, expected + 1, _position);
        }
    }
    public async IAsyncEnumerable<NostrEvent> QueryAsync(Filter filter, [EnumeratorCancellation] CancellationToken c = default)
    {
        List<NostrEvent> r;
        lock (_gate) r = _events.Select(e => e.Event).Where(filter.Matches).OrderBy(e => e, Comparer<NostrEvent>.Create(NostrEvent.CompareNewestFirst)).Take(filter.Limit ?? int.MaxValue).ToList();
        foreach (var e in r) yield return e;
        await Task.CompletedTask;
    }
    public Task<long> CountAsync(Filter filter, CancellationToken c = default) { lock (_gate) return Task.FromResult((long)_events.Count(e => filter.Matches(e.Event))); }
    public Task<bool> DeleteAsync(string id, CancellationToken c = default) { lock (_gate) return Task.FromResult(_events.RemoveAll(e => e.Event.Id == id) > 0); }
    public Task<long> ReadStreamHeadAsync(string stream, CancellationToken c = default) { lock (_gate) return Task.FromResult(_heads.GetValueOrDefault(stream)); }
    public async IAsyncEnumerable<StoredEvent> ReadAllAsync(long after, int max, [EnumeratorCancellation] CancellationToken c = default)
    {
        List<StoredEvent> r; lock (_gate) r = _events.Where(e => e.Position > after).Take(max).ToList();
        foreach (var e in r) yield return e; await Task.CompletedTask;
    }
}
