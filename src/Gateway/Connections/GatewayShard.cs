using System.Collections.Concurrent;
using NostrRelay.Grains;

namespace NostrRelay.Connections;

/// <summary>
/// A slice of this gateway's connections and the subscription grain that serves them. It is the grain's
/// observer: deliveries arrive here one batch at a time, in order, and go to each connection's queue.
/// </summary>
internal sealed class GatewayShard(string key, ISubscriptionGrain grain) : IGatewayShardObserver
{
    private readonly ConcurrentDictionary<long, RelayConnection> _connections = new();

    public string Key { get; } = key;
    public ISubscriptionGrain Grain { get; } = grain;
    public IGatewayShardObserver? Reference { get; set; }

    private readonly HashSet<Guid> _retired = [];
    private readonly TakenBatches _taken = new();
    private readonly MatchedThrough _through = new();
    /// <summary>The connections a batch is being handed to: per thread, as the hand-over never awaits.</summary>
    [ThreadStatic] private static List<RelayConnection>? t_held;
    private Guid _activation;

    /// <summary>The subscription grain activation that holds this shard's REQs; a new one has none of them.</summary>
    public Guid Activation
    {
        get => _activation;
        set
        {
            lock (_retired)
            {
                if (_activation != Guid.Empty && _activation != value)
                {
                    _retired.Add(_activation);
                    _taken.Forget(_activation);
                    _through.Resuming();
                }
                _retired.Remove(value);
                _activation = value;
            }
        }
    }
    public ICollection<RelayConnection> Connections => _connections.Values;

    /// <summary>The store position this shard's REQs resume from now (<see cref="ResumePoint.AfterPosition"/>).</summary>
    public long ResumeAfter()
    {
        lock (_retired) return _through.At(Environment.TickCount64);
    }

    /// <summary>Every open REQ was registered again on the new activation.</summary>
    public void Resumed()
    {
        lock (_retired) _through.Resumed(_taken.Newest(_activation));
    }

    public void Add(RelayConnection connection) => _connections[connection.Id] = connection;
    public void Remove(RelayConnection connection) => _connections.TryRemove(connection.Id, out _);

    public Task<DeliveryReceipt> DeliverAsync(DeliveryBatch batch)
    {
        lock (_retired)
        {
            if (_retired.Contains(batch.Activation))
            {
                RegisterAgainFromLeftover(batch);
                return Task.FromResult(DeliveryReceipt.Refused);
            }
            // Taken before, and its answer was lost on the way back: the grain gets that answer again, the clients nothing.
            if (!_taken.TryTake(batch, out var again)) return Task.FromResult(again);
        }
        DeliveryReceipt answer;
        try
        {
            answer = HandOn(batch);
        }
        catch
        {
            lock (_retired) _taken.Failed(batch);   // sent again, it is handed on again rather than answered as taken
            throw;
        }
        lock (_retired)
        {
            _taken.Answered(batch, answer);
            // Handed on: a resume may start past what the batch vouches for.
            if (batch.Activation == _activation) _through.Record(batch.Through, batch.Number, Environment.TickCount64);
        }
        return Task.FromResult(answer);
    }

    /// <summary>
    /// A batch from an activation this shard has moved on from, with stored events or the EOSE of a REQ: around a failover
    /// two activations of the grain can be alive, and the call that registered the REQ reached the leftover after the
    /// REQs were registered again on the current one. It would never be answered; it is registered whole on the current
    /// activation instead (if its EOSE came meanwhile, nothing is done).
    /// </summary>
    private void RegisterAgainFromLeftover(DeliveryBatch batch)
    {
        HashSet<(long, string)>? seen = null;
        foreach (var delivery in batch.Items)
        {
            if (delivery.Kind == DeliveryKind.Closed || !_connections.TryGetValue(delivery.ConnectionId, out var connection)) continue;
            if ((seen ??= []).Add((delivery.ConnectionId, delivery.SubscriptionId)))
                _ = connection.Subscriptions.RegisterAgainAsync(delivery.SubscriptionId);
        }
    }

    private DeliveryReceipt HandOn(DeliveryBatch batch)
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();   // once per batch, not per frame
        List<Backlog>? behind = null;
        List<long>? gone = null;
        RelayConnection? last = null;
        var held = t_held ??= [];
        try
        {
            foreach (var delivery in batch.Items)
            {
                if (last?.Id != delivery.ConnectionId)
                {
                    if (!_connections.TryGetValue(delivery.ConnectionId, out last))
                    {
                        if (gone is null || gone[^1] != delivery.ConnectionId) (gone ??= []).Add(delivery.ConnectionId);
                        continue;
                    }
                    if (last.Outbound.Hold()) held.Add(last);
                }
                last.Subscriptions.Deliver(delivery, now);
                // Far behind: the grain stops reading stored events for it until its socket catches up.
                if (last.Outbound.IsBehind(out var episode) && (behind is null || behind[^1].ConnectionId != last.Id)) (behind ??= []).Add(new Backlog(last.Id, episode));
            }
        }
        finally
        {
            // Each connection's share of the batch goes out now, together: a page of stored events in a few sends.
            foreach (var connection in held) connection.Outbound.Release();
            held.Clear();
        }
        return behind is null && gone is null ? DeliveryReceipt.Taken
            : new DeliveryReceipt(true, behind is null ? null : [.. behind], gone is null ? null : [.. gone]);
    }
}
