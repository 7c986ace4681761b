using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using NostrRelay.Grains;
using NostrRelay.Protocol;

namespace NostrRelay.Subscriptions;

/// <summary>
/// This silo's path from committed events to the subscription shards. Author grains hand events over
/// in commit order; one outbox per shard keeps that order and batches whatever queued up while the
/// previous call was in flight, so a lone event leaves at once and a burst leaves in few calls.
/// </summary>
internal sealed partial class LiveFanOut(IGrainFactory grains, ILogger<LiveFanOut> logger)
{
    private readonly ILogger _logger = logger;
    private readonly ConcurrentDictionary<string, ShardOutbox> _shards = new(StringComparer.Ordinal);
    private volatile ShardOutbox[] _snapshot = [];

    /// <summary>Called by a subscription grain when it activates: from now on it receives every live event.</summary>
    public void AddShard(string shardKey)
    {
        if (_shards.TryAdd(shardKey, new ShardOutbox(grains.GetGrain<ISubscriptionGrain>(shardKey), this)))
            _snapshot = [.. _shards.Values];
    }

    public void RemoveShard(string shardKey)
    {
        if (_shards.TryRemove(shardKey, out _)) _snapshot = [.. _shards.Values];
    }

    /// <summary>Never blocks and never throws: the append that called it has already committed.</summary>
    public void Publish(NostrEvent evt)
    {
        var shards = _snapshot;
        for (var i = 0; i < shards.Length; i++) shards[i].Enqueue(evt);
    }

    private sealed class ShardOutbox(ISubscriptionGrain shard, LiveFanOut owner)
    {
        private const int MaxBatch = 512;
        private readonly ConcurrentQueue<NostrEvent> _queue = new();
        private int _pumping;

        public void Enqueue(NostrEvent evt)
        {
            _queue.Enqueue(evt);
            if (Interlocked.CompareExchange(ref _pumping, 1, 0) == 0)
                _ = Task.Run(PumpAsync);   // off the author grain's scheduler: fan-out never delays the next append.
        }

        private async Task PumpAsync()
        {
            while (true)
            {
                var count = Math.Min(_queue.Count, MaxBatch);
                if (count == 0)
                {
                    Volatile.Write(ref _pumping, 0);
                    if (_queue.IsEmpty || Interlocked.CompareExchange(ref _pumping, 1, 0) != 0) return;
                    continue;
                }
                var batch = new NostrEvent[count];
                var n = 0;
                while (n < count && _queue.TryDequeue(out var evt)) batch[n++] = evt;
                if (n < count) Array.Resize(ref batch, n);
                try
                {
                    await shard.PublishAsync(new EventBatch(batch));
                }
                catch (Exception ex)
                {
                    LogPublishFailed(owner._logger, ex, shard.GetPrimaryKeyString(), n);
                }
            }
        }
    }

    [LoggerMessage(EventId = 200, Level = LogLevel.Error, Message = "Live fan-out to shard {Shard} lost {Count} events")]
    private static partial void LogPublishFailed(ILogger logger, Exception ex, string shard, int count);
}
