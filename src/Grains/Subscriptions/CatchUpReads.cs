using System.Runtime.InteropServices;
using NostrRelay.Protocol;

namespace NostrRelay.Subscriptions;

/// <summary>
/// Where subscription grains read stored events: on threads of their own, outside the grain's turn and off the
/// thread pool. A store may read synchronously (SQLite does), and a long read would otherwise hold the shard, and
/// every REQ and live event in it, for its whole length; and a flood of REQs queued on the thread pool would make
/// live deliveries and appends wait behind it. Here a flood waits its turn, one page at a time, on one thread per
/// core at a lower priority (nice 10 on Linux, where .NET's thread priorities do nothing): the reads use idle cores
/// fully, and yield them to live delivery and appends when those need them.
/// An idle reader thread sleeps at once rather than spinning first, as <see cref="System.Collections.Concurrent.BlockingCollection{T}"/>'s
/// wait does: under a stream of short REQs that spinning (sched_yield, and the context switches it brought) was a
/// ninth of the relay's CPU.
/// </summary>
internal class CatchUpReads : TaskScheduler, IDisposable
{
    private readonly Queue<Task> _queue = new();
    /// <summary>Guards the queue; idle threads wait on it (Monitor.Wait, which sleeps without spinning).</summary>
    private readonly object _gate = new();
    private int _idle;
    private bool _completed;
    private readonly Thread[] _threads;
    private readonly string _name;

    public CatchUpReads() : this(Environment.ProcessorCount, "catch-up reads")
    {
    }

    protected CatchUpReads(int threads, string name)
    {
        _name = name;
        _threads = new Thread[Math.Max(1, threads)];
        for (var i = 0; i < _threads.Length; i++)
        {
            _threads[i] = new Thread(Run) { IsBackground = true, Name = name, Priority = ThreadPriority.BelowNormal };
            _threads[i].Start();
        }
    }

    public override int MaximumConcurrencyLevel => _threads.Length;

    /// <summary>Reads the next page of <paramref name="reader"/> on a catch-up thread; the caller resumes in its own context.</summary>
    public Task<bool> ReadPageAsync(HistoryReader reader, List<NostrEvent> page, int max, long maxBytes, CancellationToken cancellationToken) =>
        Task.Factory.StartNew(() => reader.ReadPageAsync(page, max, maxBytes, cancellationToken), cancellationToken, TaskCreationOptions.DenyChildAttach, this).Unwrap();

    /// <summary>Runs other store work on one of these threads, in the queue's order.</summary>
    public Task<T> RunAsync<T>(Func<Task<T>> work, CancellationToken cancellationToken) =>
        Task.Factory.StartNew(work, cancellationToken, TaskCreationOptions.DenyChildAttach, this).Unwrap();

    private void Run()
    {
        LowerPriority();
        while (TryTake(out var task)) TryExecuteTask(task);
    }

    /// <summary>The next task, waiting for one; false once disposed.</summary>
    private bool TryTake(out Task task)
    {
        lock (_gate)
        {
            while (!_queue.TryDequeue(out task!))
            {
                if (_completed) return false;
                _idle++;
                try { Monitor.Wait(_gate); }
                finally { _idle--; }
            }
            return true;
        }
    }

    /// <summary>Nice 10 for the calling thread: on Linux the nice value is per thread, and lowering it needs no privilege.</summary>
    private static void LowerPriority()
    {
        if (!OperatingSystem.IsLinux()) return;
        try { _ = SetPriority(PrioProcess, 0, 10); }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException) { }
    }

    private const int PrioProcess = 0;

    [DllImport("libc", EntryPoint = "setpriority")]
    private static extern int SetPriority(int which, int who, int priority);

    protected override void QueueTask(Task task)
    {
        lock (_gate)
        {
            if (_completed) throw new ObjectDisposedException(_name);
            _queue.Enqueue(task);
            if (_idle > 0) Monitor.Pulse(_gate);
        }
    }

    // Never inline: a grain thread must not run a read.
    protected override bool TryExecuteTaskInline(Task task, bool taskWasPreviouslyQueued) =>
        Thread.CurrentThread.Name == _name && TryExecuteTask(task);

    protected override IEnumerable<Task> GetScheduledTasks()
    {
        lock (_gate) return _queue.ToArray();
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _completed = true;
            Monitor.PulseAll(_gate);
        }
    }
}
