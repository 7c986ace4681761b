using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using NostrRelay.Protocol;

namespace NostrRelay.Storage.Compositions;

/// <summary>
/// Two or more stores at once. Every write goes to the primary first, whose answer is the answer (its
/// versions, positions and head are the stream's); then to every mirror before the call returns. Reads
/// ask every store and merge their results in NIP-01 order, each id once, with the filter's limit applied
/// to the merged result: a mirror that holds events the primary lacks (a cache filled elsewhere, an older
/// archive) adds them to answers.
/// </summary>
/// <remarks>
/// A mirror that missed a write (it was down) is behind on that stream: its next write there would be a
/// version conflict, so a mirror write is retried once at the mirror's own head. A mirror's failure is
/// logged and never fails the write, because the primary already committed it.
/// </remarks>
public sealed partial class MirroredEventStore : IEventStore
{
    private readonly IEventStore _primary;
    private readonly IEventStore[] _mirrors;
    private readonly IEventStore[] _all;
    private readonly ILogger _logger;
    private readonly Dictionary<string, Task> _mirrorTails = new(StringComparer.Ordinal);

    public MirroredEventStore(IEventStore primary, IEnumerable<IEventStore> mirrors, ILogger<MirroredEventStore>? logger = null)
    {
        _primary = primary ?? throw new ArgumentNullException(nameof(primary));
        _mirrors = mirrors.ToArray();
        _all = [primary, .. _mirrors];
        _logger = logger ?? (ILogger)NullLogger.Instance;
    }

    public async Task InitAsync(CancellationToken cancellationToken = default)
    {
        foreach (var store in _all) await store.InitAsync(cancellationToken);
    }

    public Task<SaveResult> SaveAsync(NostrEvent evt, string stream, long expectedVersion, CancellationToken cancellationToken = default) =>
        WriteAsync(_primary.SaveAsync(evt, stream, expectedVersion, cancellationToken), evt, stream, replace: false);

    public Task<SaveResult> ReplaceAsync(NostrEvent evt, string stream, long expectedVersion, CancellationToken cancellationToken = default) =>
        WriteAsync(_primary.ReplaceAsync(evt, stream, expectedVersion, cancellationToken), evt, stream, replace: true);

    /// <summary>
    /// An author grain hands a stream's writes over several at a time, in version order, and the primary's answers
    /// come back on thread-pool continuations in any order: the mirror writes of a stream are chained in the order the
    /// writes were handed over, so the mirror sees them in version order too.
    /// </summary>
    private async Task<SaveResult> WriteAsync(Task<SaveResult> primary, NostrEvent evt, string stream, bool replace)
    {
        Task mirrored;
        lock (_mirrorTails)
        {
            _mirrorTails.TryGetValue(stream, out var previous);
            mirrored = MirrorAfterAsync(previous, primary, evt, stream, replace);
            _mirrorTails[stream] = mirrored;
        }
        try
        {
            var result = await primary;
            await mirrored;
            return result;
        }
        finally
        {
            lock (_mirrorTails)
            {
                if (_mirrorTails.TryGetValue(stream, out var tail) && tail == mirrored) _mirrorTails.Remove(stream);
            }
        }
    }

    private async Task MirrorAfterAsync(Task? previous, Task<SaveResult> primary, NostrEvent evt, string stream, bool replace)
    {
        if (previous is not null) await previous;   // never throws: a mirror write logs its failure
        SaveResult result;
        try { result = await primary; }
        catch (Exception) { return; }   // the caller gets the primary's failure
        if (result.Outcome == SaveOutcome.Saved) await MirrorAsync(evt, stream, result.Version - 1, replace);
    }

    private Task MirrorAsync(NostrEvent evt, string stream, long expectedVersion, bool replace)
    {
        if (_mirrors.Length == 1) return MirrorOneAsync(_mirrors[0], evt, stream, expectedVersion, replace);
        var writes = new Task[_mirrors.Length];
        for (var i = 0; i < _mirrors.Length; i++) writes[i] = MirrorOneAsync(_mirrors[i], evt, stream, expectedVersion, replace);
        return Task.WhenAll(writes);
    }

    private async Task MirrorOneAsync(IEventStore mirror, NostrEvent evt, string stream, long expectedVersion, bool replace)
    {
        try
        {
            // Not cancelled with the caller: the primary committed, so the mirror should too.
            var result = replace ? await mirror.ReplaceAsync(evt, stream, expectedVersion) : await mirror.SaveAsync(evt, stream, expectedVersion);
            if (result.Outcome != SaveOutcome.VersionConflict) return;
            var head = await mirror.ReadStreamHeadAsync(stream);
            result = replace ? await mirror.ReplaceAsync(evt, stream, head) : await mirror.SaveAsync(evt, stream, head);
            if (result.Outcome == SaveOutcome.VersionConflict) LogMirrorBehind(_logger, evt.Id, stream);
        }
        catch (Exception ex)
        {
            LogMirrorFailed(_logger, ex, evt.Id);
        }
    }

    public async Task<bool> DeleteAsync(string id, CancellationToken cancellationToken = default)
    {
        var deletes = new Task<bool>[_all.Length];
        for (var i = 0; i < _all.Length; i++) deletes[i] = _all[i].DeleteAsync(id, cancellationToken);
        var removed = await Task.WhenAll(deletes);
        return Array.IndexOf(removed, true) >= 0;
    }

    public IAsyncEnumerable<NostrEvent> QueryAsync(Filter filter, CancellationToken cancellationToken = default) =>
        NostrOrderMerge.MergeAsync(_all, filter, cancellationToken);

    public bool CanSearch => SearchMerge.AllCanSearch(_all);

    /// <summary>The primary's count: it receives every write, and counting across stores would mean reading every id.</summary>
    public Task<long> CountAsync(Filter filter, CancellationToken cancellationToken = default) => _primary.CountAsync(filter, cancellationToken);

    /// <summary>The primary's, as for <see cref="CountAsync"/>: every id once.</summary>
    public IAsyncEnumerable<EventKey> ReadKeysAsync(Filter filter, CancellationToken cancellationToken = default) => _primary.ReadKeysAsync(filter, cancellationToken);

    public IAsyncEnumerable<string> ReadExpiredAsync(long now, int max, CancellationToken cancellationToken = default) =>
        ExpiredUnion.ReadAsync(_all, now, max, cancellationToken);

    /// <summary>The primary's: its versions are the stream's.</summary>
    public Task<long> ReadStreamHeadAsync(string stream, CancellationToken cancellationToken = default) => _primary.ReadStreamHeadAsync(stream, cancellationToken);

    /// <summary>The primary's log: its positions are the ones the saves returned.</summary>
    public IAsyncEnumerable<StoredEvent> ReadAllAsync(long afterPosition, int max, CancellationToken cancellationToken = default) =>
        _primary.ReadAllAsync(afterPosition, max, cancellationToken);

    /// <summary>The primary's, as <see cref="ReadAllAsync"/>: its versions and positions are the stream's.</summary>
    public IAsyncEnumerable<StoredEvent> ReadStreamAsync(string stream, long afterVersion, int max, CancellationToken cancellationToken = default) =>
        _primary.ReadStreamAsync(stream, afterVersion, max, cancellationToken);

    public async ValueTask DisposeAsync()
    {
        foreach (var store in _all) await store.DisposeAsync();
    }

    [LoggerMessage(EventId = 3201, Level = LogLevel.Warning, Message = "Mirror write of event {EventId} failed; the primary has it")]
    private static partial void LogMirrorFailed(ILogger logger, Exception ex, string eventId);

    [LoggerMessage(EventId = 3202, Level = LogLevel.Warning, Message = "Mirror could not take event {EventId}: stream {Stream} moved while it was written")]
    private static partial void LogMirrorBehind(ILogger logger, string eventId, string stream);
}
