using System.Text.Json;
using NostrRelay.Protocol;

namespace NostrRelay.Storage.Tests;

/// <summary>
/// Differential test: random events and random filters, the store judged by brute force over what it should
/// hold (<see cref="Filter.Matches"/>, NIP-01 sort, limit). The seed is in the test name and every message.
/// </summary>
public abstract partial class EventStoreConformance
{
    private static readonly int[] FuzzKinds = [1, 1, 1, 1, 7, 7, 6, 0, 3, 10_002, 30_023, 30_023, 30_000];
    private static readonly string[] FuzzWords = ["nostr", "bitcoin", "gm", "zap", ""];
    private static readonly string[] FuzzDTags = ["", "a", "b"];

    /// <summary>
    /// Forty instants half an hour apart, so many events share a second, plus a few years before and a few days
    /// after: a store that reads the newest time window first (Sqlite) must widen it across all of that.
    /// </summary>
    private static long FuzzTime(Random random) => random.Next(20) switch
    {
        0 => T0 - random.Next(1, 4) * 40_000_000L,
        1 => T0 + random.Next(1, 3) * 200_000L,
        _ => T0 + random.Next(40) * 1_800L,
    };

    [Theory]
    [InlineData(20_240_601)]
    [InlineData(7)]
    [InlineData(1_000_003)]
    public async Task random_filters_agree_with_a_brute_force_reference(int seed)
    {
        var random = new Random(seed);
        await using var store = await CreateEmptyStoreAsync();
        var authors = Enumerable.Range(0, 8).Select(i => TestEvents.Pubkey($"fuzz author {i}")).ToArray();
        var expected = new List<NostrEvent>();   // what the store must hold now
        var everSeen = new List<NostrEvent>();

        for (var round = 0; round < 60; round++)
        {
            if (round % 6 == 5 && expected.Count > 0)
            {
                var victim = random.Next(3) == 0 ? TestEvents.Create(authors[0], 1, content: $"never saved {round}") : expected[random.Next(expected.Count)];
                Assert.True(expected.Remove(victim) == await store.DeleteAsync(victim.Id), $"seed {seed}, round {round}: delete");
                continue;
            }
            // One event per author per round: authors touch disjoint streams and addresses, so they may run at once.
            var batch = authors.Where(_ => random.Next(4) != 0).Select(author =>
                random.Next(10) == 0 && everSeen.Count > 0 ? everSeen[random.Next(everSeen.Count)] with { } : RandomEvent(random, author, everSeen, authors))
                .DistinctBy(e => e.Pubkey).ToArray();
            var outcomes = await Task.WhenAll(batch.Select(e => Seed.AppendAsync(store, e)));
            for (var i = 0; i < batch.Length; i++)
            {
                var want = ApplyToReference(expected, batch[i]);
                Assert.True(want == outcomes[i].Outcome, $"seed {seed}, round {round}: {batch[i].Id} expected {want}, got {outcomes[i].Outcome}");
                everSeen.Add(batch[i]);
            }
        }

        for (var n = 0; n < 300; n++)
        {
            var filter = RandomFilter(random, authors, everSeen);
            var want = expected.Where(filter.Matches).Order(Comparer<NostrEvent>.Create(NostrEvent.CompareNewestFirst))
                .Take(filter.Limit ?? int.MaxValue).Select(e => e.Id).ToList();
            var got = await IdsAsync(store, filter);
            Assert.True(want.SequenceEqual(got), $"seed {seed}, filter {n} {JsonSerializer.Serialize(filter)}: expected [{string.Join(",", want)}], got [{string.Join(",", got)}]");
            Assert.True(expected.Count(filter.Matches) == await store.CountAsync(filter), $"seed {seed}, filter {n} {JsonSerializer.Serialize(filter)}: count");
        }
    }

    /// <summary>What an append should do, done to the reference list.</summary>
    private static SaveOutcome ApplyToReference(List<NostrEvent> expected, NostrEvent evt)
    {
        if (expected.Any(e => e.Id == evt.Id)) return SaveOutcome.Duplicate;
        if (evt.Address is { } address)
        {
            var holders = expected.Where(e => e.Address == address).ToList();
            if (holders.Any(h => !evt.Supersedes(h.CreatedAt, h.Id))) return SaveOutcome.Superseded;
            expected.RemoveAll(holders.Contains);
        }
        expected.Add(evt);
        return SaveOutcome.Saved;
    }

    private static NostrEvent RandomEvent(Random random, string author, List<NostrEvent> earlier, string[] authors)
    {
        var kind = FuzzKinds[random.Next(FuzzKinds.Length)];
        var tags = new List<string[]>();
        for (var i = random.Next(5); i > 0; i--)
        {
            tags.Add(random.Next(8) switch
            {
                0 when earlier.Count > 0 => ["e", earlier[random.Next(earlier.Count)].Id],
                1 => ["p", authors[random.Next(authors.Length)]],
                2 => ["t", FuzzWords[random.Next(FuzzWords.Length)]],
                3 => ["t", FuzzWords[random.Next(FuzzWords.Length)], "extra"],
                4 => ["e"],
                5 => ["pp", authors[random.Next(authors.Length)]],
                6 => ["d", FuzzDTags[random.Next(FuzzDTags.Length)]],
                _ => ["subject", FuzzWords[random.Next(FuzzWords.Length)]],
            });
        }
        return TestEvents.Create(author, FuzzTime(random), kind, tags.ToArray(), $"fuzz {random.Next()}");
    }

    private static Filter RandomFilter(Random random, string[] authors, List<NostrEvent> seen)
    {
        string unknownId = new('9', 64);
        T[]? Pick<T>(int chance, Func<T> value) =>
            random.Next(chance) != 0 ? null
            : random.Next(40) == 0 ? []
            : Enumerable.Range(0, 1 + random.Next(3)).Select(_ => value()).ToArray();

        var tags = new List<TagFilter>();
        for (var i = random.Next(3) == 0 ? 1 + random.Next(2) : 0; i > 0; i--)
        {
            var letter = "eptdP"[random.Next(5)];
            var values = Enumerable.Range(0, random.Next(40) == 0 ? 0 : 1 + random.Next(3)).Select(_ => letter switch
            {
                'e' => random.Next(5) == 0 ? unknownId : seen[random.Next(seen.Count)].Id,
                'p' or 'P' => authors[random.Next(authors.Length)],
                't' => FuzzWords[random.Next(FuzzWords.Length)],
                _ => FuzzDTags[random.Next(FuzzDTags.Length)],
            }).ToArray();
            tags.Add(new TagFilter(letter, values));
        }
        return new Filter
        {
            Ids = Pick(8, () => random.Next(6) == 0 ? unknownId : seen[random.Next(seen.Count)].Id),
            Authors = Pick(3, () => authors[random.Next(authors.Length)]),
            Kinds = Pick(3, () => FuzzKinds[random.Next(FuzzKinds.Length)]),
            Tags = tags.Count == 0 ? null : tags.ToArray(),
            Since = random.Next(4) == 0 ? FuzzTime(random) + random.Next(-1, 2) : null,
            Until = random.Next(4) == 0 ? FuzzTime(random) + random.Next(-1, 2) : null,
            Limit = random.Next(10) switch { < 3 => null, 3 => 0, _ => 1 + random.Next(30) },
        };
    }
}
