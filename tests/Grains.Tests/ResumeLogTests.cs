using NostrRelay.Protocol;
using NostrRelay.Storage;
using NostrRelay.Storage.Memory;
using NostrRelay.Subscriptions;

namespace NostrRelay.Grains.Tests;

/// <summary>
/// The store's log as resumes read it after a failover: the events stored past a point, whatever their created_at, read
/// once for every resume on the silo, the newest kept when the range is longer than it holds.
/// </summary>
public sealed class ResumeLogTests
{
    private static readonly long Now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();

    [Fact]
    public async Task it_gives_the_matching_events_stored_past_a_point_newest_first_and_reads_further_as_resumes_ask()
    {
        var (store, positions, alice, bob) = await StoreAsync(6);
        var log = new ResumeLog(store, TimeProvider.System);
        Filter[] alices = [new Filter { Authors = [alice.Pubkey] }];

        var (matched, whole) = await log.ReadAsync(positions[2], alices, Now, 100, CancellationToken.None);
        Assert.True(whole);
        Assert.Equal(["alice 4"], Contents(matched));   // alice wrote the even ones; 0 and 2 are at or before the point

        (matched, whole) = await log.ReadAsync(positions[0], alices, Now, 100, CancellationToken.None);   // further back
        Assert.True(whole);
        Assert.Equal(["alice 4", "alice 2"], Contents(matched));

        var later = alice.Note("alice later", createdAt: Now - 7_200);   // signed two hours ago, stored now
        Assert.Equal(SaveOutcome.Saved, (await store.SaveAsync(later, alice.Pubkey, 3)).Outcome);
        (matched, _) = await log.ReadAsync(positions[2], alices, Now, 1, CancellationToken.None);
        Assert.Equal(["alice later"], Contents(matched));   // at most one: the newest

        (matched, _) = await log.ReadAsync(positions[2], [new Filter { Authors = [bob.Pubkey], Kinds = [1] }], Now, 100, CancellationToken.None);
        Assert.Equal(["bob 5", "bob 3"], Contents(matched));
    }

    [Fact]
    public async Task past_what_it_keeps_a_resume_gets_the_newest_and_is_told_the_rest_was_not_looked_at()
    {
        var (store, positions, alice, _) = await StoreAsync(10);
        var log = new ResumeLog(store, TimeProvider.System) { Keep = 4 };
        Filter[] everything = [Filter.Everything];

        var (matched, whole) = await log.ReadAsync(positions[0], everything, Now, 100, CancellationToken.None);
        Assert.False(whole);
        Assert.Equal(["bob 9", "alice 8", "bob 7", "alice 6"], Contents(matched));

        (matched, whole) = await log.ReadAsync(positions[6], everything, Now, 100, CancellationToken.None);
        Assert.True(whole);
        Assert.Equal(["bob 9", "alice 8", "bob 7"], Contents(matched));
        Assert.True(log.ShouldWarn());
        Assert.False(log.ShouldWarn());   // once a minute: every REQ of a shard resumes at once
    }

    private static async Task<(IEventStore Store, long[] Positions, Author Alice, Author Bob)> StoreAsync(int count)
    {
        var store = new MemoryEventStore();
        await store.InitAsync();
        var alice = new Author();
        var bob = new Author();
        var positions = new long[count];
        for (var i = 0; i < count; i++)
        {
            var author = i % 2 == 0 ? alice : bob;
            var saved = await store.SaveAsync(author.Note($"{(i % 2 == 0 ? "alice" : "bob")} {i}", createdAt: Now - 100 + i), author.Pubkey, i / 2);
            Assert.Equal(SaveOutcome.Saved, saved.Outcome);
            positions[i] = saved.Position;
        }
        return (store, positions, alice, bob);
    }

    private static string[] Contents(List<NostrEvent> events) => [.. events.Select(e => e.Content)];
}
