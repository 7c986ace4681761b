using NostrRelay.Protocol;

namespace NostrRelay.Storage.Tests;

/// <summary>Puts events in a store the way the author grain does: each author's events on its own stream, at its head.</summary>
internal static class Seed
{
    /// <summary>Saves a regular event, or replaces a replaceable or addressable one, at the head of its author's stream.</summary>
    public static async Task<SaveResult> AppendAsync(IEventStore store, NostrEvent evt)
    {
        var head = await store.ReadStreamHeadAsync(evt.Pubkey);
        return evt.Address is null
            ? await store.SaveAsync(evt, evt.Pubkey, head)
            : await store.ReplaceAsync(evt, evt.Pubkey, head);
    }

    /// <summary>Appends the events, each author's in the given order; authors run concurrently, so a durable store batches them.</summary>
    public static async Task AppendAllAsync(IEventStore store, IEnumerable<NostrEvent> events)
    {
        var streams = events.GroupBy(e => e.Pubkey).Select(async authored =>
        {
            foreach (var evt in authored)
            {
                var result = await AppendAsync(store, evt);
                Assert.True(result.Outcome is SaveOutcome.Saved or SaveOutcome.Superseded, $"seeding {evt.Id}: {result.Outcome}");
            }
        });
        await Task.WhenAll(streams);
    }

    /// <summary>Text notes by <paramref name="pubkey"/> all at one second; their ids (hashes) come in no particular order.</summary>
    public static async Task<List<NostrEvent>> SameSecondNotesAsync(IEventStore store, string pubkey, int count, long createdAt = 1_700_000_000)
    {
        var notes = new List<NostrEvent>();
        for (var i = 0; i < count; i++) notes.Add(TestEvents.Create(pubkey, createdAt, content: $"note {i}"));
        await AppendAllAsync(store, notes);
        return notes;
    }
}
