using NostrRelay.Subscriptions;

namespace NostrRelay.Grains.Tests;

/// <summary>The reader threads subscription grains hand their store reads to.</summary>
public sealed class CatchUpReadsTests
{
    [Fact]
    public async Task Work_runs_on_a_reader_thread_and_its_result_comes_back()
    {
        using var reads = new CatchUpReads();
        var thread = await reads.RunAsync(() => Task.FromResult(Thread.CurrentThread.Name), CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal("catch-up reads", thread);
    }

    [Fact]
    public async Task Idle_threads_wake_for_work_queued_long_after_the_last()
    {
        using var reads = new CatchUpReads();
        for (var round = 0; round < 3; round++)
        {
            await Task.Delay(200);   // every reader thread asleep
            var results = await Task.WhenAll(Enumerable.Range(0, 20).Select(i => reads.RunAsync(() => Task.FromResult(i * 2), CancellationToken.None))).WaitAsync(TimeSpan.FromSeconds(10));
            Assert.Equal(Enumerable.Range(0, 20).Select(i => i * 2), results);
        }
    }

    [Fact]
    public async Task Work_queued_while_every_thread_is_busy_runs_once_one_is_free()
    {
        using var reads = new CatchUpReads();
        using var release = new ManualResetEventSlim();
        var busy = Enumerable.Range(0, Environment.ProcessorCount)
            .Select(_ => reads.RunAsync(() => Task.FromResult(release.Wait(TimeSpan.FromSeconds(10))), CancellationToken.None)).ToArray();
        var queued = reads.RunAsync(() => Task.FromResult("ran"), CancellationToken.None);
        await Task.Delay(100);
        Assert.False(queued.IsCompleted);
        release.Set();
        Assert.Equal("ran", await queued.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.All(await Task.WhenAll(busy), Assert.True);
    }

    [Fact]
    public async Task Disposing_lets_queued_work_finish_and_refuses_new_work()
    {
        var reads = new CatchUpReads();
        using var release = new ManualResetEventSlim();
        var busy = Enumerable.Range(0, Environment.ProcessorCount)
            .Select(_ => reads.RunAsync(() => Task.FromResult(release.Wait(TimeSpan.FromSeconds(10))), CancellationToken.None)).ToArray();
        var queued = reads.RunAsync(() => Task.FromResult(7), CancellationToken.None);
        reads.Dispose();
        release.Set();
        Assert.Equal(7, await queued.WaitAsync(TimeSpan.FromSeconds(10)));
        await Assert.ThrowsAnyAsync<Exception>(() => reads.RunAsync(() => Task.FromResult(1), CancellationToken.None));
    }
}
