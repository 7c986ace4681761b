using NostrRelay.Protocol;
using NostrRelay.Storage.Memory;

namespace NostrRelay.Storage.Tests;

public sealed class MemoryEventStoreTests : EventStoreConformance
{
    protected override async Task<IEventStore> CreateEmptyStoreAsync()
    {
        var store = new MemoryEventStore();
        await store.InitAsync();
        return store;
    }

    [Fact]
    public async Task a_seeded_store_holds_the_events_as_appends_would()
    {
        var alice = TestEvents.Pubkey("alice");
        var note = TestEvents.Create(alice, 100);
        var oldProfile = TestEvents.Create(alice, 100, EventKind.Metadata, content: "old");
        var newProfile = TestEvents.Create(alice, 200, EventKind.Metadata, content: "new");
        await using var store = new MemoryEventStore([note, newProfile, oldProfile, note]);

        var stored = await store.QueryAsync(Filter.Everything).Select(e => e.Id).ToListAsync();
        Assert.Equal([newProfile.Id, note.Id], stored);
        Assert.Equal(2, await store.ReadStreamHeadAsync(alice));
    }
}
