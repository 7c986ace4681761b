using NostrRelay.Counting;
using NostrRelay.Grains;
using NostrRelay.Protocol;

namespace NostrRelay.Storage.Tests;

/// <summary>
/// NIP-45: "Multiple filters are OR'd together and aggregated into a single count result"; the HyperLogLog's
/// registers are filled from "the events that are to be counted according to the filter", by their pubkeys. Every
/// store reads the keys of its matches, and a COUNT over it leaves out the private kinds a connection may not see.
/// </summary>
public abstract partial class EventStoreConformance
{
    private static string RandomPubkey(Random random)
    {
        var bytes = new byte[32];
        random.NextBytes(bytes);
        return Convert.ToHexStringLower(bytes);
    }

    [Fact]
    public async Task keys_are_the_id_pubkey_kind_and_created_at_of_every_match_whatever_the_limit()
    {
        await using var store = await CreateEmptyStoreAsync();
        for (var i = 0; i < 12; i++)
        {
            var author = (i % 3) switch { 0 => Alice, 1 => Bob, _ => Carol };
            await SaveNextAsync(store, TestEvents.Create(author, T0 + i, i % 2 == 0 ? 1 : 7, [["t", i % 4 == 0 ? "four" : "other"]], $"keys {i}"));
        }
        Filter[] filters =
        [
            new() { Limit = 2 },
            new() { Kinds = [7], Limit = 1 },
            new() { Authors = [Alice, Carol] },
            new() { Tags = [new TagFilter('t', ["four"])], Kinds = [1] },
            new() { Since = T0 + 3, Until = T0 + 8, Limit = 0 },
        ];

        foreach (var filter in filters)
        {
            var expected = (await store.QueryAsync(filter with { Limit = null }).ToListAsync()).Select(e => (e.Id, e.Pubkey, e.Kind, e.CreatedAt)).Order().ToList();
            var keys = (await store.ReadKeysAsync(filter).ToListAsync()).Select(k => (k.Id, k.Pubkey, k.Kind, k.CreatedAt)).Order().ToList();
            Assert.Equal(expected, keys);
            Assert.Equal(expected.Count, await store.CountAsync(filter));
        }
    }

    [Fact]
    public async Task overlapping_filters_count_each_event_once_and_apart_ones_add_up()
    {
        await using var store = await CreateEmptyStoreAsync();
        var events = new List<NostrEvent>();
        for (var i = 0; i < 20; i++)
        {
            var evt = TestEvents.Create(i % 2 == 0 ? Alice : Bob, T0 + i, i % 3 == 0 ? 7 : 1, [["t", i % 4 == 0 ? "x" : "y"]], $"union {i}");
            events.Add(evt);
            await SaveNextAsync(store, evt);
        }
        var counter = new EventCounter(store);
        Filter[] overlapping = [new() { Kinds = [1], Tags = [new TagFilter('t', ["x"])] }, new() { Authors = [Alice] }, new() { Kinds = [1], Limit = 1 }];
        Filter[] apart = [new() { Kinds = [1] }, new() { Kinds = [7] }];

        var union = await counter.CountAsync(new CountRequest(overlapping), CancellationToken.None);
        var sum = await counter.CountAsync(new CountRequest(apart), CancellationToken.None);

        Assert.Equal(events.Count(e => overlapping.Any(f => f.Matches(e))), union.Count);
        Assert.False(union.Approximate);
        Assert.Equal(20, sum.Count);
        Assert.Null(union.Hll);   // a filter without a tag condition: NIP-45 defines no HyperLogLog
    }

    [Fact]
    public async Task the_hyperloglog_holds_the_registers_of_the_matching_events_pubkeys()
    {
        await using var store = await CreateEmptyStoreAsync();
        var random = new Random(45);
        var target = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData("reacted to"u8));
        var reactors = new List<string>();
        for (var i = 0; i < 150; i++)
        {
            var pubkey = RandomPubkey(random);
            reactors.Add(pubkey);
            await SaveNextAsync(store, TestEvents.Create(pubkey, T0 + i, 7, [["e", target]], "+"));
            // Noise the filter must not count: a reply to the target, a reaction to something else.
            if (i % 10 == 0) await SaveNextAsync(store, TestEvents.Create(pubkey, T0 + i, 1, [["e", target]], "a reply"));
            if (i % 15 == 0) await SaveNextAsync(store, TestEvents.Create(RandomPubkey(random), T0 + i, 7, [["e", Alice]], "+"));
        }
        var filter = new Filter { Kinds = [7], Tags = [new TagFilter('e', [target])] };

        var result = await new EventCounter(store).CountAsync(new CountRequest([filter], HllOffset: CountRequest.HllOffsetFor([filter])), CancellationToken.None);

        var expected = new HyperLogLog(HyperLogLog.OffsetFor(filter)!.Value);
        foreach (var pubkey in reactors) expected.Add(pubkey);
        Assert.Equal(150, result.Count);
        Assert.Equal(expected.ToHex(), Convert.ToHexStringLower(result.Hll!));
    }

    [Fact]
    public async Task private_kinds_are_counted_only_for_an_authenticated_author_or_recipient()
    {
        await using var store = await CreateEmptyStoreAsync();
        var dave = TestEvents.Pubkey("dave");
        await SaveNextAsync(store, TestEvents.Create(Alice, T0, 4, [["p", Bob]], "alice to bob"));
        await SaveNextAsync(store, TestEvents.Create(Carol, T0 + 1, 4, [["p", dave]], "carol to dave"));
        await SaveNextAsync(store, TestEvents.Create(Carol, T0 + 2, 1059, [["p", Bob]], "a gift wrap for bob"));
        await SaveNextAsync(store, TestEvents.Create(Carol, T0 + 3, 1, [["p", Bob]], "a public mention of bob"));
        await SaveNextAsync(store, TestEvents.Create(Alice, T0 + 4, 1, [], "a public note"));
        var counter = new EventCounter(store);
        int[] privateKinds = [4, 1059];
        // Each count twice: by the index (no HyperLogLog) and by the keys (with one, where the filter has a tag condition).
        async Task<long> CountAsync(Filter filter, params string[] parties)
        {
            var request = new CountRequest([filter], privateKinds, parties.Length == 0 ? null : parties);
            var byIndex = (await counter.CountAsync(request, CancellationToken.None)).Count;
            var byKeys = await counter.CountAsync(request with { HllOffset = CountRequest.HllOffsetFor([filter]) }, CancellationToken.None);
            Assert.Equal(byIndex, byKeys.Count);
            return byIndex;
        }
        var mentionsOfBob = new Filter { Tags = [new TagFilter('p', [Bob])] };

        Assert.Equal(1, await CountAsync(mentionsOfBob));
        Assert.Equal(3, await CountAsync(mentionsOfBob, Bob));
        Assert.Equal(2, await CountAsync(mentionsOfBob, Alice));            // her own message to bob, and the public mention
        Assert.Equal(2, await CountAsync(new Filter()));
        Assert.Equal(3, await CountAsync(new Filter(), dave));
        Assert.Equal(4, await CountAsync(new Filter(), Carol));
        Assert.Equal(5, await CountAsync(new Filter(), Carol, Bob));
        Assert.Equal(2, await CountAsync(new Filter { Kinds = [4, 1059], Tags = [new TagFilter('p', [Bob])] }, Bob));
        Assert.Equal(5, (await counter.CountAsync(new CountRequest([new Filter()]), CancellationToken.None)).Count);   // no gate configured
        // Overlapping filters: each event once, the hidden ones still hidden.
        var union = await counter.CountAsync(new CountRequest([mentionsOfBob, new Filter { Authors = [Carol] }], privateKinds, [dave]), CancellationToken.None);
        Assert.Equal(2, union.Count);   // the public mention (twice matched) and carol's message to dave
        var unionWithHll = await counter.CountAsync(new CountRequest([mentionsOfBob, new Filter { Tags = [new TagFilter('p', [Bob])], Authors = [Carol] }], privateKinds, [Carol], HllOffset: CountRequest.HllOffsetFor([mentionsOfBob])), CancellationToken.None);
        Assert.Equal(2, unionWithHll.Count);   // the public mention and carol's own gift wrap for bob; not alice's message to bob
        var onlyCarol = new HyperLogLog(CountRequest.HllOffsetFor([mentionsOfBob])!.Value);
        onlyCarol.Add(Carol);
        Assert.Equal(onlyCarol.ToHex(), Convert.ToHexStringLower(unionWithHll.Hll!));
    }
}
