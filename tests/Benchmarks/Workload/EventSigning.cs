using NostrRelay.Benchmarks.Client;
using NostrRelay.Testing;

namespace NostrRelay.Benchmarks.Workload;

/// <summary>Signs drafts on every core before a phase is timed (about 45 µs an event with libsecp256k1).</summary>
internal static class EventSigning
{
    public static SignedEvent[] Sign(Authors authors, EventDraft[] drafts)
    {
        var signed = new SignedEvent[drafts.Length];
        var signer = NativeSchnorrSigner.Shared;
        Parallel.For(0, drafts.Length, i =>
        {
            var draft = drafts[i];
            var evt = signer.Sign(authors.SecretKeys[draft.Author], draft.CreatedAt, draft.Kind, draft.Tags, draft.Content);
            signed[i] = new SignedEvent(evt.Id, evt.Pubkey, evt.Kind, ClientFrames.Event(evt.Json), IdKey.From(evt.Id));
        });
        return signed;
    }

    /// <summary>Deals events round-robin to <paramref name="lanes"/> connections, keeping each lane in the given order.</summary>
    public static SignedEvent[][] Deal(SignedEvent[] events, int lanes)
    {
        var dealt = new SignedEvent[lanes][];
        for (var lane = 0; lane < lanes; lane++)
        {
            var count = (events.Length - lane + lanes - 1) / lanes;
            dealt[lane] = new SignedEvent[count];
            for (var i = 0; i < count; i++) dealt[lane][i] = events[lane + i * lanes];
        }
        return dealt;
    }
}
