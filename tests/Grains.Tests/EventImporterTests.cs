using System.Text;
using NostrRelay.Crypto;
using NostrRelay.Protocol;
using NostrRelay.Storage;
using NostrRelay.Storage.Memory;
using NostrRelay.Storage.Transfer;

namespace NostrRelay.Grains.Tests;

/// <summary>
/// The import command's importer: one author's history goes to the store in rounds (as an author grain sends a busy
/// author's events), with the same outcomes as sent one by one: versions in line order, duplicates counted, older
/// replaceable versions refused.
/// </summary>
public sealed class EventImporterTests
{
    private static readonly EventVerifier Verifier = new(SchnorrVerifier.Default);

    [Fact]
    public async Task one_authors_history_is_stored_in_line_order_with_each_outcome_as_if_sent_alone()
    {
        var author = new Author();
        var notes = Enumerable.Range(0, 300).Select(i => author.Note($"history {i}")).ToList();
        var newest = author.Note("{\"name\":\"now\"}", createdAt: 9_000, kind: EventKind.Metadata);
        var older = Enumerable.Range(0, 10).Select(i => author.Note($"{{\"name\":\"{i}\"}}", createdAt: 1_000 + i, kind: EventKind.Metadata)).ToList();
        var last = author.Note("after the old profiles");
        var lines = notes.Concat(notes.Take(5)).Append(newest).Concat(older).Append(last).ToList();
        await using var store = new MemoryEventStore();
        var progress = new TransferProgress();
        var rejected = new List<(long Line, string Reason)>();

        await new EventImporter(store, Verifier).ImportAsync(Jsonl(lines), progress, (line, reason) => { lock (rejected) rejected.Add((line, reason)); });

        Assert.Equal("317 read, 302 accepted, 5 duplicate, 10 rejected", progress.ToString());
        Assert.All(rejected, r => Assert.StartsWith("replaced:", r.Reason));
        var stored = await store.ReadStreamAsync(author.Pubkey, 0, 1_000).ToListAsync();
        Assert.Equal(Enumerable.Range(1, 302).Select(v => (long)v), stored.Select(s => s.Version));
        Assert.Equal(notes.Append(newest).Append(last).Select(e => e.Id), stored.Select(s => s.Event.Id));
    }

    [Fact]
    public async Task a_stream_the_relay_wrote_to_before_the_import_continues_after_its_head()
    {
        var author = new Author();
        await using var store = new MemoryEventStore();
        Assert.Equal(SaveOutcome.Saved, (await store.SaveAsync(author.Note("published live"), author.Pubkey, 0)).Outcome);
        var progress = new TransferProgress();

        await new EventImporter(store, Verifier).ImportAsync(Jsonl(Enumerable.Range(0, 50).Select(i => author.Note($"imported {i}")).ToList()), progress);

        Assert.Equal(50, progress.Accepted);
        Assert.Equal(51, await store.ReadStreamHeadAsync(author.Pubkey));
    }

    private static StringReader Jsonl(IEnumerable<NostrEvent> events) =>
        new(string.Join('\n', events.Select(e => Encoding.UTF8.GetString(e.Json))) + "\n");
}
