using System.Threading.Channels;

namespace NostrRelay.Grains.Tests;

/// <summary>Stands where a gateway shard would: records every delivery in the order it arrived.</summary>
public sealed class RecordingObserver : IGatewayShardObserver
{
    private readonly Channel<Delivery> _deliveries = Channel.CreateUnbounded<Delivery>();
    private int _batches;

    /// <summary>Calls made to this observer so far.</summary>
    public int Batches => Volatile.Read(ref _batches);

    /// <summary>Calls that ran under a scheduler other than the thread pool's (a grain's): none should.</summary>
    public int OffDefaultScheduler => Volatile.Read(ref _offDefault);
    private int _offDefault;

    /// <summary>The highest store position a batch vouched for (<see cref="DeliveryBatch.Through"/>).</summary>
    public long Through => Interlocked.Read(ref _through);
    private long _through;

    /// <summary>What each batch vouched for, in the order they came, and the subscriptions whose EOSE it carried.</summary>
    public (long Through, string[] EndsOfStoredEvents)[] Throughs
    {
        get { lock (_throughs) return [.. _throughs]; }
    }
    private readonly List<(long, string[])> _throughs = [];

    public Task<DeliveryReceipt> DeliverAsync(DeliveryBatch batch)
    {
        Interlocked.Increment(ref _batches);
        lock (_throughs) _throughs.Add((batch.Through, [.. batch.Items.Where(d => d.Kind == DeliveryKind.EndOfStoredEvents).Select(d => d.SubscriptionId)]));
        for (var seen = Through; batch.Through > seen && Interlocked.CompareExchange(ref _through, batch.Through, seen) != seen; seen = Through) { }
        if (TaskScheduler.Current != TaskScheduler.Default) Interlocked.Increment(ref _offDefault);
        foreach (var delivery in batch.Items) _deliveries.Writer.TryWrite(delivery);
        return Task.FromResult(DeliveryReceipt.Taken);
    }

    public async Task<Delivery> NextAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(10));
        return await _deliveries.Reader.ReadAsync(cts.Token);
    }

    /// <summary>Deliveries up to and including the EOSE of the subscription.</summary>
    public async Task<List<Delivery>> UntilEndOfStoredEventsAsync(string subscriptionId)
    {
        var seen = new List<Delivery>();
        while (true)
        {
            var next = await NextAsync();
            seen.Add(next);
            if (next.Kind == DeliveryKind.EndOfStoredEvents && next.SubscriptionId == subscriptionId) return seen;
        }
    }

    /// <summary>The next delivery, or null when none comes within the window.</summary>
    public async Task<Delivery?> NextOrNothingAsync(TimeSpan window)
    {
        try { return await NextAsync(window); }
        catch (OperationCanceledException) { return null; }
    }

    /// <summary>Waits until a batch vouched for <paramref name="position"/>, calling <paramref name="checkIn"/> as a gateway would each time.</summary>
    public async Task<bool> VouchedForAsync(long position, Func<Task> checkIn, TimeSpan? timeout = null)
    {
        var until = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(10));
        while (Through < position)
        {
            if (DateTime.UtcNow > until) return false;
            await checkIn();
            await Task.Delay(20);
        }
        return true;
    }

    public async Task<bool> NothingWithinAsync(TimeSpan window)
    {
        try { await NextAsync(window); return false; }
        catch (OperationCanceledException) { return true; }
    }
}

/// <summary>A gateway shard that no longer has one connection (its disconnect never reached the grain): it records the rest.</summary>
public sealed class ForgetfulObserver(long forgotten) : IGatewayShardObserver
{
    private int _forgotten;

    public RecordingObserver Recorded { get; } = new();

    /// <summary>Deliveries that came for the forgotten connection.</summary>
    public int Forgotten => Volatile.Read(ref _forgotten);

    public async Task<DeliveryReceipt> DeliverAsync(DeliveryBatch batch)
    {
        var kept = batch.Items.Where(d => d.ConnectionId != forgotten).ToArray();
        Interlocked.Add(ref _forgotten, batch.Items.Length - kept.Length);
        if (kept.Length > 0) await Recorded.DeliverAsync(batch with { Items = kept });
        return kept.Length == batch.Items.Length ? DeliveryReceipt.Taken : new DeliveryReceipt(true, null, [forgotten]);
    }
}

/// <summary>A gateway shard that has moved on to another activation: it refuses every delivery.</summary>
public sealed class RefusingObserver : IGatewayShardObserver
{
    private int _refused;

    public int Refused => Volatile.Read(ref _refused);

    public Task<DeliveryReceipt> DeliverAsync(DeliveryBatch batch)
    {
        Interlocked.Increment(ref _refused);
        return Task.FromResult(DeliveryReceipt.Refused);
    }
}

/// <summary>A gateway shard behind a flaky link: its first deliveries fail, then it records like the real one.</summary>
public sealed class FlakyObserver(int failures) : IGatewayShardObserver
{
    private int _failuresLeft = failures;

    public RecordingObserver Inner { get; } = new();

    public Task<DeliveryReceipt> DeliverAsync(DeliveryBatch batch)
    {
        if (Interlocked.Decrement(ref _failuresLeft) >= 0) throw new InvalidOperationException("link down");
        return Inner.DeliverAsync(batch);
    }
}

/// <summary>
/// A gateway shard whose first answers are lost on the way back (the silo that carried them died): it takes those
/// batches, then the call fails. It records the number of every batch it was sent.
/// </summary>
public sealed class AnswerLosingObserver(int losses) : IGatewayShardObserver
{
    private int _lossesLeft = losses;
    private readonly List<(Guid Activation, long Number, int Items)> _sent = [];

    public RecordingObserver Inner { get; } = new();

    public IReadOnlyList<(Guid Activation, long Number, int Items)> Sent { get { lock (_sent) return [.. _sent]; } }

    public async Task<DeliveryReceipt> DeliverAsync(DeliveryBatch batch)
    {
        lock (_sent) _sent.Add((batch.Activation, batch.Number, batch.Items.Length));
        var receipt = await Inner.DeliverAsync(batch);
        if (Interlocked.Decrement(ref _lossesLeft) >= 0) throw new InvalidOperationException("answer lost");
        return receipt;
    }
}

/// <summary>A gateway shard whose connection 1 reads slowly: while <see cref="Behind"/>, every receipt reports it backlogged.</summary>
public sealed class BackloggedObserver : IGatewayShardObserver
{
    public RecordingObserver Inner { get; } = new();

    public volatile bool Behind = true;
    public volatile int Episode = 1;

    public async Task<DeliveryReceipt> DeliverAsync(DeliveryBatch batch)
    {
        await Inner.DeliverAsync(batch);
        return Behind ? new DeliveryReceipt(true, [new Backlog(1, Episode)]) : DeliveryReceipt.Taken;
    }
}

/// <summary>A gateway shard that takes a batch only once <see cref="Open"/> lets it: a batch waits at the gate meanwhile.</summary>
public sealed class GatedObserver : IGatewayShardObserver
{
    private volatile TaskCompletionSource _gate = Opened();

    public RecordingObserver Inner { get; } = new();

    /// <summary>Batches that reached the gate, taken or waiting.</summary>
    public int Arrived => Volatile.Read(ref _arrived);
    private int _arrived;

    public void Close() => _gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Open() => _gate.TrySetResult();

    public async Task<DeliveryReceipt> DeliverAsync(DeliveryBatch batch)
    {
        Interlocked.Increment(ref _arrived);
        await _gate.Task;
        return await Inner.DeliverAsync(batch);
    }

    private static TaskCompletionSource Opened()
    {
        var open = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        open.SetResult();
        return open;
    }
}
