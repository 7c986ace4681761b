using System.Diagnostics;
using System.Diagnostics.Metrics;
using NostrRelay.Storage;

namespace NostrRelay.Metrics;

/// <summary>
/// The silo's instruments (meter "NostrRelay.Silo"): how long the event store takes per operation, and how live events
/// leave this silo (batches to its subscription shards and to other silos, events waiting in those outboxes). Each
/// record uses constant tags and costs no allocation.
/// </summary>
public sealed class SiloMetrics
{
    public const string MeterName = "NostrRelay.Silo";

    private readonly Meter _meter;
    private readonly Histogram<double> _store;
    private readonly Counter<long> _batches;
    private readonly Counter<long> _notSent;
    private readonly Histogram<long> _batchSize;
    private readonly KeyValuePair<string, object?> _storeName;

    public SiloMetrics(IMeterFactory meters, IEventStore store)
    {
        _meter = meters.Create(MeterName);
        _store = _meter.CreateHistogram<double>("nostr.store.duration", "ms", "event store operations, by store and operation");
        _batches = _meter.CreateCounter<long>("nostr.fanout.batches", "{batch}", "batches of live events sent, to this silo's subscription shards or to other silos");
        _notSent = _meter.CreateCounter<long>("nostr.fanout.peer.skipped", "{event}", "live events not sent to another silo, because no subscription there can match them");
        _batchSize = _meter.CreateHistogram<long>("nostr.fanout.batch.size", "{event}", "live events per batch sent");
        var name = store.GetType().Name;
        _storeName = new("store", name.EndsWith("EventStore", StringComparison.Ordinal) ? name[..^"EventStore".Length] : name);
    }

    /// <summary>A store call that began at <paramref name="started"/> (a <see cref="Stopwatch"/> timestamp) has returned.</summary>
    /// <param name="operation">A constant: "save", "replace", "query", "count", "negentropy".</param>
    public void Store(string operation, long started) =>
        _store.Record(Stopwatch.GetElapsedTime(started).TotalMilliseconds, _storeName, new KeyValuePair<string, object?>("operation", operation));

    /// <summary>Runs a store read (a COUNT, a negentropy read) and records how long it took, failed or not.</summary>
    public async Task<T> TimeAsync<T>(string operation, Func<Task<T>> read)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            return await read();
        }
        finally
        {
            Store(operation, started);
        }
    }

    /// <summary>Store time summed over a longer piece of work (a REQ's stored events, read page by page): Stopwatch ticks.</summary>
    public void StoreTime(string operation, long ticks) =>
        _store.Record(ticks * 1000.0 / Stopwatch.Frequency, _storeName, new KeyValuePair<string, object?>("operation", operation));

    /// <param name="destination">"shard" or "silo".</param>
    public void Batch(string destination, int events)
    {
        var tag = new KeyValuePair<string, object?>("destination", destination);
        _batches.Add(1, tag);
        _batchSize.Record(events, tag);
    }

    /// <summary>Live events kept from peer silos that said nothing there matches them (one count per event and silo).</summary>
    public void NotSent(int peers) => _notSent.Add(peers);

    /// <summary>The gauge of live events waiting in the outboxes, read when scraped.</summary>
    public void ObserveQueued(Func<long> queued) =>
        _meter.CreateObservableUpDownCounter("nostr.fanout.queued", queued, "{event}", "live events waiting to leave this silo");
}
