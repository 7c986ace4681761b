using NostrRelay.Protocol;
using NostrRelay.Subscriptions;

namespace NostrRelay.Grains.Tests;

/// <summary>The inverted index must find exactly the subscriptions a plain scan with Filter.Matches finds.</summary>
public sealed class FilterIndexTests
{
    private static readonly string[] Pubkeys = Enumerable.Range(0, 6).Select(i => new string((char)('a' + i), 64)).ToArray();
    private static readonly string[] Values = ["x", "y", "z", new string('0', 64)];

    /// <summary>Obviously correct: every subscription with a filter that matches.</summary>
    private static HashSet<LiveSubscription> Reference(IEnumerable<LiveSubscription> subscriptions, NostrEvent evt) =>
        subscriptions.Where(s => s.Filters.Any(f => !f.CannotMatch && f.Matches(evt))).ToHashSet();

    [Fact]
    public void random_filters_and_events_match_as_the_reference_scan_does()
    {
        const int seed = 20261124;
        var random = new Random(seed);
        var index = new FilterIndex();
        var subscriptions = new List<LiveSubscription>();
        for (var i = 0; i < 300; i++)
        {
            var filters = Enumerable.Range(0, random.Next(1, 4)).Select(_ => RandomFilter(random)).ToArray();
            var subscription = new LiveSubscription(new ShardConnection(i), $"s{i}", filters);
            subscriptions.Add(subscription);
            index.Add(subscription);
        }
        foreach (var removed in subscriptions.Where((_, i) => i % 7 == 0).ToList())
        {
            index.Remove(removed);
            subscriptions.Remove(removed);
        }

        var matches = new List<LiveSubscription>();
        for (var i = 0; i < 2000; i++)
        {
            var evt = RandomEvent(random, i);
            matches.Clear();
            index.Match(evt, matches);
            Assert.True(matches.Count == matches.Distinct().Count(), $"seed {seed}: a subscription matched twice");
            Assert.True(Reference(subscriptions, evt).SetEquals(matches), $"seed {seed}, event {i}: index and reference differ");
        }
    }

    private static Filter RandomFilter(Random random)
    {
        T[]? Maybe<T>(T[] pool) => random.Next(3) == 0 ? pool.OrderBy(_ => random.Next()).Take(random.Next(0, 3)).ToArray() : null;
        var tags = random.Next(3) == 0 ? new[] { new TagFilter(random.Next(2) == 0 ? 'e' : 't', Maybe(Values) ?? ["x"]) } : null;
        return new Filter
        {
            Ids = random.Next(5) == 0 ? Enumerable.Range(0, random.Next(0, 4)).Select(_ => random.Next(0, 40).ToString("x64")).ToArray() : null,
            Authors = Maybe(Pubkeys),
            Kinds = Maybe(new[] { 0, 1, 7, 30023 }),
            Tags = tags,
            Since = random.Next(4) == 0 ? random.Next(0, 100) : null,
            Until = random.Next(4) == 0 ? random.Next(50, 150) : null,
        };
    }

    private static NostrEvent RandomEvent(Random random, int i)
    {
        var tags = Enumerable.Range(0, random.Next(0, 3))
            .Select(_ => new[] { random.Next(2) == 0 ? "e" : "t", Values[random.Next(Values.Length)] }).ToArray();
        var id = i.ToString("x64");
        return new NostrEvent(id, Pubkeys[random.Next(Pubkeys.Length)], random.Next(0, 150), new[] { 0, 1, 7, 30023 }[random.Next(4)],
            tags, "", new string('0', 128), []);
    }
}
