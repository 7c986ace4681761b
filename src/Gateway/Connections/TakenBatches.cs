using NostrRelay.Grains;

namespace NostrRelay.Connections;

/// <summary>
/// The newest batch number a gateway shard has taken from each subscription grain activation, and its answer. A grain
/// sends a batch again when its answer was lost, which happens when the silo that carried the call dies after the
/// gateway took it: the gateway then gives the answer again without sending the batch's frames a second time.
/// </summary>
/// <remarks>
/// A grain hands on one batch at a time, so the numbers of one activation arrive in order. A number below the newest
/// taken is a batch sent again long after, or one the grain gave up on that arrived late: the grain has moved on, and
/// has told the subscriptions that lost events in it to REQ again. Not thread-safe: the shard calls it under its lock.
/// </remarks>
internal sealed class TakenBatches
{
    private readonly Dictionary<Guid, Taken> _newest = [];

    /// <summary>
    /// Takes the batch's number when the batch is new to this shard (unnumbered ones always are); otherwise gives the
    /// answer to send back: the one its first delivery got, when that is known.
    /// </summary>
    public bool TryTake(DeliveryBatch batch, out DeliveryReceipt answer)
    {
        answer = DeliveryReceipt.Taken;
        if (batch.Number == 0) return true;
        var before = _newest.TryGetValue(batch.Activation, out var newest) ? newest.Number : 0;
        if (batch.Number <= before)
        {
            if (batch.Number == before && newest.Answer is { } first) answer = first;
            return false;
        }
        _newest[batch.Activation] = new Taken(batch.Number, before, null);
        return true;
    }

    /// <summary>Keeps the answer the batch got, for a copy of it sent again.</summary>
    public void Answered(DeliveryBatch batch, DeliveryReceipt answer)
    {
        if (batch.Number != 0 && _newest.TryGetValue(batch.Activation, out var newest) && newest.Number == batch.Number)
            _newest[batch.Activation] = newest with { Answer = answer };
    }

    /// <summary>Gives the number back when the batch could not be handed on: the grain sends it again, and it must be new then.</summary>
    public void Failed(DeliveryBatch batch)
    {
        if (batch.Number != 0 && _newest.TryGetValue(batch.Activation, out var newest) && newest.Number == batch.Number)
            _newest[batch.Activation] = new Taken(newest.Before, 0, null);
    }

    /// <summary>The newest number taken from an activation, 0 for none.</summary>
    public long Newest(Guid activation) => _newest.TryGetValue(activation, out var newest) ? newest.Number : 0;

    /// <summary>Forgets an activation the shard no longer listens to: its batches are refused from now on.</summary>
    public void Forget(Guid activation) => _newest.Remove(activation);

    private readonly record struct Taken(long Number, long Before, DeliveryReceipt? Answer);
}
