using NostrRelay.Grains;

namespace NostrRelay.Connections;

/// <summary>
/// The newest batch number a gateway shard has taken from each subscription grain activation. A grain sends a batch
/// again when its answer was lost, which happens when the silo that carried the call dies after the gateway took it:
/// the gateway then answers that batch without sending its frames a second time.
/// </summary>
/// <remarks>
/// A grain hands on one batch at a time, so the numbers of one activation arrive in order. A number at or below the
/// newest taken is a batch sent again, or one given up on that arrived late (its subscriptions were already closed).
/// Not thread-safe: the shard calls it under its lock.
/// </remarks>
internal sealed class TakenBatches
{
    private readonly Dictionary<Guid, long> _newest = [];

    /// <summary>Whether the batch is new to this shard, and takes its number if so. Unnumbered batches are always new.</summary>
    public bool Take(DeliveryBatch batch)
    {
        if (batch.Number == 0) return true;
        if (_newest.TryGetValue(batch.Activation, out var newest) && batch.Number <= newest) return false;
        _newest[batch.Activation] = batch.Number;
        return true;
    }

    /// <summary>Forgets an activation the shard no longer listens to: its batches are refused from now on.</summary>
    public void Forget(Guid activation) => _newest.Remove(activation);
}
