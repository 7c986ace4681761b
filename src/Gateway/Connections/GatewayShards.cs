using NostrRelay.Metrics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using NostrRelay.Grains;
using NostrRelay.Hosting;
using NostrRelay.Policies;

namespace NostrRelay.Connections;

/// <summary>
/// This gateway's shards. Starts after the silo (or cluster client) so its observers can attach, and
/// stops before it: on shutdown every connection drains its in-flight EVENTs and closes with 1001
/// while the grains can still answer.
/// </summary>
internal sealed partial class GatewayShards(IGrainFactory grains, ClusterCallWatch calls, IOptions<RelayOptions> options, IHostApplicationLifetime lifetime,
    RelayMetrics metrics, LocalShardObservers local, PolicyPipeline policies, ILogger<GatewayShards> logger) : IHostedService
{
    private readonly object _drainGate = new();
    private Task? _draining;
    private readonly CancellationTokenSource _stopping = new();
    private GatewayShard[] _shards = [];
    private long _nextConnectionId;
    private Task _reattaching = Task.CompletedTask;

    public string GatewayId { get; } = options.Value.GatewayId ?? Guid.NewGuid().ToString("N")[..12];

    /// <summary>True once every shard's observer is attached: before that the gateway answers 503.</summary>
    public bool Ready { get; private set; }

    /// <summary>When a shard last reached its subscription grain: readiness fails when the cluster stops answering.</summary>
    public DateTimeOffset LastCheckIn { get; private set; }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var count = Math.Max(1, options.Value.Shards ?? Environment.ProcessorCount);
        var shards = new GatewayShard[count];
        try
        {
            for (var i = 0; i < count; i++)
            {
                var key = $"{GatewayId}/{i}";
                var shard = new GatewayShard(key, grains.GetGrain<ISubscriptionGrain>(key));
                shard.Reference = grains.CreateObjectReference<IGatewayShardObserver>(shard);
                shards[i] = shard;
                // A grain in this process may call the shard in its turn; an embedder's delivery hooks never run there.
                if (!policies.HasEmbedderDeliveryHooks) local.Add(shard.Reference, shard);
                shard.Activation = await shard.Grain.AttachAsync(shard.Reference);
            }
        }
        catch
        {
            foreach (var shard in shards) if (shard?.Reference is { } reference) local.Remove(reference);
            throw;
        }
        _shards = shards;
        metrics.Observe(() => Connections.LongCount(), () =>
        {
            long open = 0;
            foreach (var connection in Connections) open += connection.Subscriptions.Count;
            return open;
        });
        LastCheckIn = DateTimeOffset.UtcNow;
        Ready = true;
        LogStarted(logger, GatewayId, count);
        _reattaching = ReattachAsync(_stopping.Token);
        // Kestrel waits for open requests before hosted services stop, and a WebSocket request lasts as long
        // as its socket: draining must start when stopping is signalled, not when this service is stopped.
        lifetime.ApplicationStopping.Register(() => Drain());
    }

    /// <summary>
    /// Checks in with every shard's grain, each shard on its own: one shard waiting on a dead silo neither
    /// delays the others nor makes the gateway unready while the cluster still answers. A grain re-activated
    /// elsewhere (its silo died) comes back empty: attaching gives it the observer again, and each connection
    /// of the shard resumes its REQs from where its client got to.
    /// </summary>
    private async Task ReattachAsync(CancellationToken cancellationToken)
    {
        var checks = new Task[_shards.Length];
        for (var i = 0; i < checks.Length; i++) checks[i] = Task.CompletedTask;
        using var timer = new PeriodicTimer(options.Value.ShardCheckInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken))
            {
                for (var i = 0; i < _shards.Length; i++)
                    if (checks[i].IsCompleted) checks[i] = CheckInAsync(_shards[i]);   // a slow one is not started twice
            }
        }
        catch (OperationCanceledException)
        {
        }
        await Task.WhenAll(checks);
    }

    private async Task CheckInAsync(GatewayShard shard)
    {
        try
        {
            var activation = await calls.CallAsync(() => shard.Grain.AttachAsync(shard.Reference!));
            LastCheckIn = DateTimeOffset.UtcNow;   // the cluster answers
            if (activation == shard.Activation) return;
            shard.Activation = activation;
            var resumed = 0;
            try
            {
                foreach (var connection in shard.Connections) resumed += await connection.Subscriptions.ResumeAsync();
            }
            finally
            {
                shard.Resumed();
            }
            LogResumed(logger, shard.Key, resumed);
        }
        catch (Exception ex)
        {
            LogReattachFailed(logger, ex, shard.Key);
        }
    }

    public GatewayShard Assign(out long connectionId)
    {
        connectionId = Interlocked.Increment(ref _nextConnectionId);
        return _shards[connectionId % _shards.Length];
    }

    public IEnumerable<RelayConnection> Connections
    {
        get
        {
            foreach (var shard in _shards)
                foreach (var connection in shard.Connections) yield return connection;
        }
    }

    /// <summary>Starts (once) the drain of every connection: OKs for what is in flight, then close with 1001.</summary>
    private Task Drain()
    {
        lock (_drainGate)
        {
            if (_draining is not null) return _draining;
            Ready = false;
            var draining = new List<Task>();
            foreach (var connection in Connections) draining.Add(connection.ShutdownAsync());
            return _draining = Task.WhenAll(draining);
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        // Stopped before the silo (registered after it), so the grains answer until every OK is out.
        try { await Drain().WaitAsync(cancellationToken); }
        catch (OperationCanceledException) { }
        _stopping.Cancel();
        await _reattaching;
        foreach (var shard in _shards)
        {
            // StopAsync may run twice (an embedder stopping the host, then disposing it): release once.
            if (shard.Reference is { } reference)
            {
                local.Remove(reference);
                grains.DeleteObjectReference<IGatewayShardObserver>(reference);
            }
            shard.Reference = null;
        }
    }

    [LoggerMessage(EventId = 500, Level = LogLevel.Information, Message = "Gateway {GatewayId} serving with {Shards} subscription shards")]
    private static partial void LogStarted(ILogger logger, string gatewayId, int shards);

    [LoggerMessage(EventId = 501, Level = LogLevel.Warning, Message = "Could not re-attach shard {Shard}")]
    private static partial void LogReattachFailed(ILogger logger, Exception ex, string shard);

    [LoggerMessage(EventId = 502, Level = LogLevel.Warning, Message = "Subscription grain of shard {Shard} was re-activated; resumed {Subscriptions} subscriptions")]
    private static partial void LogResumed(ILogger logger, string shard, int subscriptions);
}
