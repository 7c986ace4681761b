// TEMP STUB
namespace NostrRelay.Storage.Sqlite;
public sealed class SqliteEventStoreOptions { public string Path { get; set; } = ""; }
public sealed class SqliteEventStore : IEventStore
{
    private readonly Memory.MemoryEventStore _m = new();
    public SqliteEventStore(SqliteEventStoreOptions o) { }
    public Task InitAsync(CancellationToken c = default) => Task.CompletedTask;
    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    public Task<SaveResult> SaveAsync(Protocol.NostrEvent evt, string stream, long e, CancellationToken c = default) => _m.SaveAsync(evt, stream, e);
    public Task<SaveResult> ReplaceAsync(Protocol.NostrEvent evt, string stream, long e, CancellationToken c = default) => _m.ReplaceAsync(evt, stream, e);
    public IAsyncEnumerable<Protocol.NostrEvent> QueryAsync(Protocol.Filter f, CancellationToken c = default) => _m.QueryAsync(f);
    public Task<long> CountAsync(Protocol.Filter f, CancellationToken c = default) => _m.CountAsync(f);
    public Task<bool> DeleteAsync(string id, CancellationToken c = default) => _m.DeleteAsync(id);
    public Task<long> ReadStreamHeadAsync(string s, CancellationToken c = default) => _m.ReadStreamHeadAsync(s);
    public IAsyncEnumerable<StoredEvent> ReadAllAsync(long a, int m, CancellationToken c = default) => _m.ReadAllAsync(a, m);
}
