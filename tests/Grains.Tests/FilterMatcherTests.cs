using NostrRelay.Protocol;
using NostrRelay.Subscriptions;

namespace NostrRelay.Grains.Tests;

/// <summary>
/// Live matching looks long lists up in sets; it must answer exactly as <see cref="Filter.Matches"/>, the reference,
/// for lists on both sides of the threshold.
/// </summary>
public sealed class FilterMatcherTests
{
    [Fact]
    public void long_and_short_lists_match_exactly_as_the_reference_filter()
    {
        var seed = 1234;
        var random = new Random(seed);
        string Hex(int i) => i.ToString("x64");
        string[] Values(string prefix, int count, int range) => [.. Enumerable.Range(0, count).Select(_ => prefix + random.Next(range))];
        for (var round = 0; round < 2_000; round++)
        {
            var size = random.Next(2) == 0 ? random.Next(1, 8) : random.Next(17, 300);
            var filter = new Filter
            {
                Ids = random.Next(4) == 0 ? [.. Enumerable.Range(0, size).Select(_ => Hex(random.Next(400)))] : null,
                Authors = random.Next(3) == 0 ? [.. Enumerable.Range(0, size).Select(_ => Hex(random.Next(400)))] : null,
                Kinds = random.Next(3) == 0 ? [.. Enumerable.Range(0, size).Select(_ => random.Next(400))] : null,
                Tags = random.Next(2) == 0 ? [new TagFilter('t', Values("v", size, 400)), new TagFilter('p', Values("w", random.Next(1, 40), 60))] : null,
                Since = random.Next(5) == 0 ? 100 : null,
            };
            var matcher = new FilterMatcher(filter);
            for (var e = 0; e < 20; e++)
            {
                var evt = new NostrEvent(Hex(random.Next(400)), Hex(random.Next(400)), random.Next(200), random.Next(400),
                    [["t", "v" + random.Next(400)], ["p", "w" + random.Next(60)], ["t"]], "", new string('0', 128), []);
                Assert.True(filter.Matches(evt) == matcher.Matches(evt), $"seed {seed}, round {round}: {filter} on {evt.Id}");
            }
        }
    }
}
