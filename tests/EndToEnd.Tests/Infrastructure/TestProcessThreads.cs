using System.Runtime.CompilerServices;

namespace NostrRelay.EndToEnd.Tests.Infrastructure;

/// <summary>
/// Test classes run side by side in this one process, and some block a pool thread while a tool runs (kubectl, a
/// silo being killed). With the pool's floor at the core count, two of those leave the socket loops of a latency test
/// waiting until the pool adds threads, about two a second: a relay answer taken a second late that the relay sent on
/// time. A higher floor lets the pool start threads for them at once.
/// </summary>
internal static class TestProcessThreads
{
    [ModuleInitializer]
    internal static void RaiseFloor()
    {
        ThreadPool.GetMinThreads(out var workers, out var completionPorts);
        ThreadPool.SetMinThreads(Math.Max(workers, 32), Math.Max(completionPorts, 32));
    }
}
