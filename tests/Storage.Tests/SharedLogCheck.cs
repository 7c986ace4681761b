using System.Collections.Concurrent;

namespace NostrRelay.Storage.Tests;

/// <summary>
/// What every store a cluster shares must show: several instances (silos) writing at once, each with its own writer,
/// and a bookmark consumer reading on from the last position it saw, which must see every saved position once, in
/// order. A store that hands out positions when they are drawn, not in commit order, fails it: a transaction that drew
/// lower positions and commits later is skipped by such a reader.
/// </summary>
internal static class SharedLogCheck
{
    /// <param name="kindOf">The kind of a writer's event at a version (a Sharded store routes kinds to shards).</param>
    public static async Task ReadersSeeEveryPositionOnceInOrderAsync(IReadOnlyList<IEventStore> stores, int writersPerStore, int eventsPerWriter,
        Func<int, int>? kindOf = null)
    {
        var saved = new ConcurrentBag<long>();
        var writing = Task.WhenAll(stores.SelectMany((store, s) => Enumerable.Range(0, writersPerStore).Select(w => Task.Run(async () =>
        {
            var author = TestEvents.Pubkey($"silo {s} writer {w}");
            for (var v = 0; v < eventsPerWriter; v++)
            {
                var evt = TestEvents.Create(author, 1_700_000_000 + v, kind: kindOf?.Invoke(v) ?? 1, tags: [["t", "gap"]]);
                var result = await store.SaveAsync(evt, author, v);
                Assert.Equal(SaveOutcome.Saved, result.Outcome);
                saved.Add(result.Position);
            }
        }))));

        var seen = new List<long>();
        var last = 0L;
        var reads = 0;
        while (true)
        {
            var done = writing.IsCompleted;   // read once more after the writers finished
            await foreach (var stored in stores[0].ReadAllAsync(last, 50))
            {
                Assert.True(stored.Position > last, $"position {stored.Position} came after {last}");
                seen.Add(stored.Position);
                last = stored.Position;
            }
            reads++;
            if (done) break;
        }
        await writing;

        Assert.Equal(stores.Count * writersPerStore * eventsPerWriter, saved.Count);
        var missed = saved.Except(seen).Order().ToList();
        Assert.True(missed.Count == 0, $"the reader skipped {missed.Count} positions in {reads} reads, first {string.Join(", ", missed.Take(10))}");
        Assert.Equal(saved.Order(), seen);
    }
}
