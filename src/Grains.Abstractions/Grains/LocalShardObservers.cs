using System.Collections.Concurrent;

namespace NostrRelay.Grains;

/// <summary>
/// The gateway shard observers that live in this process, by the reference their subscription grains hold. When a
/// gateway is hosted in a silo, a shard grain hands a batch for a few connections (a REQ's stored events and its EOSE,
/// most often) to its observer by a plain call in its own turn, instead of an Orleans message to the observer and one
/// back: each of those is a hand-off to another thread, and a query's answer took two of them.
/// A gateway-only process registers its observers here too; no grain runs there to look them up.
/// </summary>
internal sealed class LocalShardObservers
{
    private readonly ConcurrentDictionary<GrainId, IGatewayShardObserver> _observers = new();

    public void Add(IGatewayShardObserver reference, IGatewayShardObserver observer) => _observers[reference.GetGrainId()] = observer;

    public void Remove(IGatewayShardObserver reference) => _observers.TryRemove(reference.GetGrainId(), out _);

    /// <summary>The observer behind the reference, if it lives in this process and takes plain calls.</summary>
    public IGatewayShardObserver? Find(IGatewayShardObserver reference) =>
        _observers.IsEmpty ? null : _observers.GetValueOrDefault(reference.GetGrainId());
}
