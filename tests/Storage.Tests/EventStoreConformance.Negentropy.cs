using NostrRelay.Grains;
using NostrRelay.Protocol;
using NostrRelay.Sync;
using NostrRelay.Syncing;

namespace NostrRelay.Storage.Tests;

/// <summary>
/// NIP-77: the relay "selects the set of events that it has locally that match the filter", each a record of
/// "a 64-bit numeric timestamp and a 256-bit ID", "sorted according to timestamp, ascending ... then lexically by ID".
/// Every store gives the records of its matches from their keys, and a private message is a record only for its parties.
/// </summary>
public abstract partial class EventStoreConformance
{
    private static List<(ulong, string)> RecordsOf(NegentropySet set) =>
        [.. Enumerable.Range(0, set.Count).Select(i => (set.TimestampAt(i), Convert.ToHexStringLower(set.IdAt(i))))];

    [Fact]
    public async Task negentropy_records_are_every_match_in_created_at_then_id_order_and_private_ones_only_for_their_parties()
    {
        await using var store = await CreateEmptyStoreAsync();
        var events = new List<NostrEvent>();
        for (var i = 0; i < 9; i++)
        {
            var evt = TestEvents.Create(i % 2 == 0 ? Alice : Bob, T0 + i / 3, 1, [], $"record {i}");   // three to a second
            events.Add(evt);
            await SaveNextAsync(store, evt);
        }
        var dm = TestEvents.Create(Alice, T0 + 5, 4, [["p", Carol]], "alice to carol");
        await SaveNextAsync(store, dm);
        var reader = new NegentropyRecordReader(store);
        int[] privateKinds = [4, 1059];

        var all = await reader.ReadAsync(new NegentropyRequest(new Filter(), 100, privateKinds), CancellationToken.None);
        var forCarol = await reader.ReadAsync(new NegentropyRequest(new Filter(), 100, privateKinds, [Carol]), CancellationToken.None);
        var newest = await reader.ReadAsync(new NegentropyRequest(new Filter { Authors = [Alice], Limit = 2 }, 100, privateKinds), CancellationToken.None);
        var tooMany = await reader.ReadAsync(new NegentropyRequest(new Filter(), 5, privateKinds), CancellationToken.None);

        var expected = events.Select(e => ((ulong)e.CreatedAt, e.Id)).Order().ToList();
        Assert.Equal(expected, RecordsOf(all.Records!));
        Assert.Equal(expected.Append(((ulong)dm.CreatedAt, dm.Id)).Order(), RecordsOf(forCarol.Records!));
        // Alice's newest two: created_at T0 + 2 (event 6, then 8), as a REQ with that limit would return them.
        var alices = events.Where(e => e.Pubkey == Alice).OrderByDescending(e => e.CreatedAt).ThenBy(e => e.Id, StringComparer.Ordinal).Take(2);
        Assert.Equal(alices.Select(e => ((ulong)e.CreatedAt, e.Id)).Order(), RecordsOf(newest.Records!));
        Assert.Null(tooMany.Records);
        Assert.Equal(6, tooMany.Matched);
    }
}
