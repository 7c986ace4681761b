using System.Text;
using NostrRelay.Crypto;
using NostrRelay.Protocol;
using NostrRelay.Storage;
using NostrRelay.Storage.Transfer;

namespace NostrRelay.Grains.Tests;

/// <summary>
/// The import command's importer: one author's history goes to the store in rounds (as an author grain sends a busy
/// author's events), with the same outcomes as sent one by one: versions in line order, duplicates counted, older
/// replaceable versions and refused lines reported once each. The store answers late and out of order, as a group
/// commit answers a batch.
/// </summary>
public sealed class EventImporterTests
{
    private static readonly EventVerifier Verifier = new(SchnorrVerifier.Default);

    [Fact]
    public async Task one_authors_history_goes_in_rounds_in_line_order_with_each_outcome_as_if_sent_alone()
    {
        var author = new Author();
        var notes = Enumerable.Range(0, 300).Select(i => author.Note($"history {i}")).ToList();
        var newest = author.Note("{\"name\":\"now\"}", createdAt: 9_000, kind: EventKind.Metadata);
        var older = Enumerable.Range(0, 10).Select(i => author.Note($"{{\"name\":\"{i}\"}}", createdAt: 1_000 + i, kind: EventKind.Metadata)).ToList();
        var last = author.Note("after the old profiles");
        var lines = notes.Concat(notes.Take(5)).Append(newest).Concat(older).Append(last).ToList();
        var store = new SlowAnswersStore();
        var progress = new TransferProgress();
        var rejected = new List<(long Line, string Reason)>();

        await new EventImporter(store, Verifier).ImportAsync(Jsonl(lines), progress, (line, reason) => { lock (rejected) rejected.Add((line, reason)); });

        Assert.Equal("317 read, 302 accepted, 5 duplicate, 10 rejected", progress.ToString());
        Assert.Equal(Enumerable.Range(307, 10).Select(n => (long)n), rejected.Select(r => r.Line).Order());
        Assert.All(rejected, r => Assert.StartsWith("replaced:", r.Reason));
        var stored = await store.ReadStreamAsync(author.Pubkey, 0, 1_000).ToListAsync();
        Assert.Equal(Enumerable.Range(1, 302).Select(v => (long)v), stored.Select(s => s.Version));
        Assert.Equal(notes.Append(newest).Append(last).Select(e => e.Id), stored.Select(s => s.Event.Id));
        Assert.True(store.MostOutstanding > 1, "one author's lines were sent one at a time");
    }

    [Fact]
    public async Task lines_the_policies_refuse_or_fail_on_and_a_failed_write_are_each_reported_once_and_the_rest_stored()
    {
        var author = new Author();
        var lines = Enumerable.Range(0, 60).Select(i => author.Note(i switch
        {
            7 => "refuse this one",
            20 => "the policy fails on this one",
            33 => SlowAnswersStore.Failing,
            _ => $"kept {i}",
        })).ToList();
        var store = new SlowAnswersStore();
        var progress = new TransferProgress();
        var rejected = new List<(long Line, string Reason)>();
        Func<NostrEvent, ValueTask<string?>> admit = async evt =>
        {
            await Task.Delay(1);
            if (evt.Content == "the policy fails on this one") throw new InvalidOperationException("the plugin crashed");
            return evt.Content == "refuse this one" ? "blocked: not here" : null;
        };

        await new EventImporter(store, Verifier, admit: admit).ImportAsync(Jsonl(lines), progress, (line, reason) => { lock (rejected) rejected.Add((line, reason)); });

        Assert.Equal("60 read, 57 accepted, 0 duplicate, 3 rejected", progress.ToString());
        Assert.Equal([8L, 21, 34], rejected.Select(r => r.Line).Order());
        Assert.StartsWith("blocked:", rejected.Single(r => r.Line == 8).Reason);
        Assert.All(rejected.Where(r => r.Line != 8), r => Assert.StartsWith("error:", r.Reason));
        Assert.Equal(57, await store.ReadStreamHeadAsync(author.Pubkey));
    }

    [Fact]
    public async Task a_stream_the_relay_wrote_to_before_the_import_continues_after_its_head()
    {
        var author = new Author();
        var store = new SlowAnswersStore();
        Assert.Equal(SaveOutcome.Saved, (await store.SaveAsync(author.Note("published live"), author.Pubkey, 0)).Outcome);
        var progress = new TransferProgress();

        await new EventImporter(store, Verifier).ImportAsync(Jsonl(Enumerable.Range(0, 50).Select(i => author.Note($"imported {i}")).ToList()), progress);

        Assert.Equal(50, progress.Accepted);
        Assert.Equal(51, await store.ReadStreamHeadAsync(author.Pubkey));
    }

    private static StringReader Jsonl(IEnumerable<NostrEvent> events) =>
        new(string.Join('\n', events.Select(e => Encoding.UTF8.GetString(e.Json))) + "\n");
}
