using System.Collections.Concurrent;
using NostrRelay.Protocol;

namespace NostrRelay.Subscriptions;

/// <summary>
/// Where subscription grains read stored events: on threads of their own, outside the grain's turn and off the
/// thread pool. A store may read synchronously (SQLite does), and a long read would otherwise hold the shard, and
/// every REQ and live event in it, for its whole length; and a flood of REQs queued on the thread pool would make
/// live deliveries and appends wait behind it. Here a flood waits its turn, one page at a time, on one thread per two
/// cores, while live traffic keeps the rest of the machine.
/// </summary>
internal sealed class CatchUpReads : TaskScheduler, IDisposable
{
    private readonly BlockingCollection<Task> _queue = new();
    private readonly Thread[] _threads;

    public CatchUpReads()
    {
        _threads = new Thread[Math.Max(1, Environment.ProcessorCount / 2)];
        for (var i = 0; i < _threads.Length; i++)
        {
            _threads[i] = new Thread(Run) { IsBackground = true, Name = "catch-up reads", Priority = ThreadPriority.BelowNormal };
            _threads[i].Start();
        }
    }

    public override int MaximumConcurrencyLevel => _threads.Length;

    /// <summary>Reads the next page of <paramref name="reader"/> on a catch-up thread; the caller resumes in its own context.</summary>
    public Task<bool> ReadPageAsync(HistoryReader reader, List<NostrEvent> page, int max, CancellationToken cancellationToken) =>
        Task.Factory.StartNew(() => reader.ReadPageAsync(page, max, cancellationToken), cancellationToken, TaskCreationOptions.DenyChildAttach, this).Unwrap();

    private void Run()
    {
        foreach (var task in _queue.GetConsumingEnumerable()) TryExecuteTask(task);
    }

    protected override void QueueTask(Task task) => _queue.Add(task);

    // Never inline: a grain thread must not run a read.
    protected override bool TryExecuteTaskInline(Task task, bool taskWasPreviouslyQueued) =>
        Thread.CurrentThread.Name == "catch-up reads" && TryExecuteTask(task);

    protected override IEnumerable<Task> GetScheduledTasks() => _queue.ToArray();

    public void Dispose() => _queue.CompleteAdding();
}
