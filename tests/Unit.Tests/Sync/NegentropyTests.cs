using System.Numerics;
using System.Security.Cryptography;
using NostrRelay.Sync;

namespace NostrRelay.Unit.Tests.Sync;

/// <summary>
/// Negentropy Protocol V1 as NIP-77's appendix writes it: records sorted "according to timestamp, ascending. If two
/// timestamps are equal then items are sorted lexically by ID"; varints "base-128 digits, most significant digit
/// first"; the fingerprint is "the addition mod 2^256 of the element IDs (interpreted as 32-byte little-endian unsigned
/// integers)", then the count as a varint, SHA-256, the first 16 bytes; both sides run here, and the outcome is checked
/// against the plain set difference. nostr-tools' independent implementation is checked against the relay end to end.
/// </summary>
public sealed class NegentropyTests
{
    private static byte[] Id(Random random)
    {
        var id = new byte[32];
        random.NextBytes(id);
        return id;
    }

    private static NegentropySet SetOf(IEnumerable<(ulong CreatedAt, byte[] Id)> records)
    {
        var builder = new NegentropySet.Builder();
        foreach (var (createdAt, id) in records) builder.Add(createdAt, id);
        return builder.Build();
    }

    /// <summary>Runs both sides to the end: what the initiator has that the other lacks, what it needs, and the rounds.</summary>
    private static (HashSet<string> Have, HashSet<string> Need, int Rounds) Reconcile(NegentropySet client, NegentropySet relay, int clientFrame = 0, int relayFrame = 0)
    {
        var initiator = new Negentropy(client, clientFrame);
        var responder = new Negentropy(relay, relayFrame);
        var have = new List<byte[]>();
        var need = new List<byte[]>();
        var message = initiator.Initiate();
        var rounds = 0;
        while (true)
        {
            Assert.True(rounds++ < 2_000, "reconciliation did not end");
            var answer = responder.Reconcile(message);
            if (relayFrame > 0) Assert.True(answer.Length <= relayFrame, $"a {answer.Length}-byte message over the {relayFrame}-byte limit");
            var next = initiator.ReconcileAsInitiator(answer, have, need);
            if (next is null) break;
            if (clientFrame > 0) Assert.True(next.Length <= clientFrame, $"a {next.Length}-byte message over the {clientFrame}-byte limit");
            message = next;
        }
        return ([.. have.Select(Convert.ToHexStringLower)], [.. need.Select(Convert.ToHexStringLower)], rounds);
    }

    [Theory]
    [InlineData(0, 0, 0)]
    [InlineData(10, 3, 2)]
    [InlineData(1_000, 10, 10)]
    [InlineData(20_000, 200, 150)]
    public void both_sides_learn_exactly_the_ids_the_other_lacks(int shared, int onlyClient, int onlyRelay)
    {
        var random = new Random(shared + onlyClient);
        // Few distinct seconds, so many records share a created_at and are told apart by id.
        var common = Enumerable.Range(0, shared).Select(_ => ((ulong)random.Next(1_700_000_000, 1_700_000_000 + shared / 20 + 1), Id(random))).ToList();
        var clientOnly = Enumerable.Range(0, onlyClient).Select(_ => ((ulong)random.Next(1_700_000_000, 1_700_000_100), Id(random))).ToList();
        var relayOnly = Enumerable.Range(0, onlyRelay).Select(_ => ((ulong)random.Next(1_700_000_000, 1_700_000_100), Id(random))).ToList();

        var (have, need, _) = Reconcile(SetOf(common.Concat(clientOnly)), SetOf(common.Concat(relayOnly)));

        Assert.Equal(clientOnly.Select(r => Convert.ToHexStringLower(r.Item2)).ToHashSet(), have);
        Assert.Equal(relayOnly.Select(r => Convert.ToHexStringLower(r.Item2)).ToHashSet(), need);
    }

    [Fact]
    public void frame_limits_on_both_sides_spread_the_work_over_more_rounds_and_lose_nothing()
    {
        var random = new Random(7);
        var relayOnly = Enumerable.Range(0, 3_000).Select(i => ((ulong)(1_700_000_000 + i / 3), Id(random))).ToList();
        var clientOnly = Enumerable.Range(0, 500).Select(i => ((ulong)(1_700_000_000 + i), Id(random))).ToList();

        var unlimited = Reconcile(SetOf(clientOnly), SetOf(relayOnly));
        var limited = Reconcile(SetOf(clientOnly), SetOf(relayOnly), clientFrame: 4096, relayFrame: 4096);

        Assert.Equal(3_000, limited.Need.Count);
        Assert.Equal(500, limited.Have.Count);
        Assert.Equal(unlimited.Need, limited.Need);
        Assert.Equal(unlimited.Have, limited.Have);
        Assert.True(limited.Rounds > unlimited.Rounds + 5, $"{limited.Rounds} rounds limited, {unlimited.Rounds} unlimited");
    }

    [Theory]
    [InlineData(1, 5_000, 0.0, 0.02)]
    [InlineData(2, 5_000, 0.9, 0.0)]
    [InlineData(3, 20_000, 0.01, 0.01)]
    [InlineData(4, 8_000, 1.0, 0.0)]
    [InlineData(5, 3_000, 0.5, 0.5)]
    public void small_frames_on_both_sides_lose_nothing_whatever_each_side_holds(int seed, int relayCount, double clientShare, double clientExtra)
    {
        var random = new Random(seed);
        var relay = Enumerable.Range(0, relayCount).Select(i => ((ulong)(1_700_000_000 + i / 5), Id(random))).ToList();
        var kept = relay.Where(_ => random.NextDouble() < clientShare).ToList();
        // The client's own records at the end of time only: the relay's answers are cut long before them.
        var extra = Enumerable.Range(0, (int)(relayCount * clientExtra)).Select(i => ((ulong)(1_800_000_000 + i), Id(random))).ToList();

        var (have, need, _) = Reconcile(SetOf(kept.Concat(extra)), SetOf(relay), clientFrame: 4096, relayFrame: 4096);

        Assert.Equal(extra.Select(r => Convert.ToHexStringLower(r.Item2)).ToHashSet(), have);
        Assert.Equal(relay.Except(kept).Select(r => Convert.ToHexStringLower(r.Item2)).ToHashSet(), need);
    }

    [Fact]
    public void the_fingerprint_is_the_ids_added_little_endian_mod_2_256_then_the_count_hashed_and_cut_to_16_bytes()
    {
        var random = new Random(3);
        var ids = Enumerable.Range(0, 40).Select(_ => Id(random)).ToList();
        ids.Add(Enumerable.Repeat((byte)0xFF, 32).ToArray());   // a carry out of every word
        var set = SetOf(ids.Select(id => (5UL, id)));

        var sum = BigInteger.Zero;
        foreach (var id in ids) sum += new BigInteger(id, isUnsigned: true, isBigEndian: false);
        var bytes = (sum % BigInteger.Pow(2, 256)).ToByteArray(isUnsigned: true, isBigEndian: false);
        var input = new byte[33];
        bytes.CopyTo(input, 0);
        input[32] = (byte)ids.Count;   // 41: a one-byte varint
        var expected = SHA256.HashData(input)[..16];
        var actual = new byte[16];
        set.Fingerprint(0, set.Count, actual);

        Assert.Equal(expected, actual);
    }

    [Fact]
    public void an_empty_client_opens_with_an_empty_id_list_and_is_sent_every_id()
    {
        var random = new Random(11);
        var relay = SetOf(Enumerable.Range(0, 10).Select(i => ((ulong)i, Id(random))));

        var opening = new Negentropy(NegentropySet.Empty).Initiate();
        var answer = new Negentropy(relay).Reconcile(opening);

        // Version, bound (infinity: timestamp 0, prefix length 0), mode 2 (id list), count 0.
        Assert.Equal(new byte[] { 0x61, 0x00, 0x00, 0x02, 0x00 }, opening);
        Assert.Equal(new byte[] { 0x61, 0x00, 0x00, 0x02, 0x0A }, answer[..5]);
        Assert.Equal(5 + 10 * 32, answer.Length);
    }

    [Fact]
    public void bounds_between_records_of_one_second_carry_the_shortest_id_prefix_that_separates_them()
    {
        byte[] a = [.. new byte[] { 0x10, 0x20, 0x30 }, .. new byte[29]];
        byte[] b = [.. new byte[] { 0x10, 0x20, 0x31 }, .. new byte[29]];
        var records = SetOf([(9UL, a), (9UL, b), (12UL, new byte[32])]);

        var sameSecond = NegentropyBound.Between(records.Record(0), records.Record(1));
        var nextSecond = NegentropyBound.Between(records.Record(1), records.Record(2));

        Assert.Equal(9UL, sameSecond.Timestamp);
        Assert.Equal(new byte[] { 0x10, 0x20, 0x31 }, sameSecond.Prefix.ToArray());
        Assert.Equal(12UL, nextSecond.Timestamp);
        Assert.Equal(0, nextSecond.PrefixLength);
    }

    [Theory]
    [InlineData(0UL, new byte[] { 0x00 })]
    [InlineData(127UL, new byte[] { 0x7F })]
    [InlineData(128UL, new byte[] { 0x81, 0x00 })]
    [InlineData(16_384UL, new byte[] { 0x81, 0x80, 0x00 })]
    [InlineData(ulong.MaxValue, new byte[] { 0x81, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F })]
    public void varints_are_base_128_most_significant_digit_first(ulong value, byte[] expected)
    {
        var written = new byte[10];
        var length = NegentropyWriter.WriteVarint(written, value);
        var reader = new NegentropyReader(expected);

        Assert.Equal(expected, written[..length]);
        Assert.Equal(value, reader.Varint());
    }

    [Fact]
    public void a_responder_answers_another_protocol_version_with_its_own_version_byte()
    {
        Assert.Equal(new byte[] { 0x61 }, new Negentropy(NegentropySet.Empty).Reconcile([0x62, 0x00, 0x00, 0x00]));
    }

    [Theory]
    [InlineData(new byte[] { 0x20 }, "invalid protocol version byte")]
    [InlineData(new byte[] { 0x61, 0x00 }, "message ends early")]
    [InlineData(new byte[] { 0x61, 0x00, 0x21 }, "count 33 is larger than 32")]
    [InlineData(new byte[] { 0x61, 0x00, 0x00, 0x07 }, "unknown range mode 7")]
    [InlineData(new byte[] { 0x61, 0x00, 0x00, 0x01, 0x01 }, "message ends early")]
    [InlineData(new byte[] { 0x61, 0x00, 0x00, 0x02, 0x05, 0x01 }, "count 5 is larger than 0")]
    [InlineData(new byte[] { 0x61, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F }, "varint is too large")]
    public void a_malformed_message_is_refused_with_what_is_wrong(byte[] message, string reason)
    {
        var error = Assert.Throws<NegentropyException>(() => new Negentropy(NegentropySet.Empty).Reconcile(message));
        Assert.Equal(reason, error.Message);
    }

    [Fact]
    public void a_limit_keeps_the_newest_records_lowest_id_first_among_equal_seconds()
    {
        var builder = new NegentropySet.Builder();
        byte[] low = [0x01, .. new byte[31]], high = [0x02, .. new byte[31]], older = [0x00, .. new byte[31]];
        builder.Add(10UL, high);
        builder.Add(10UL, low);
        builder.Add(9UL, older);
        builder.KeepNewest(1);
        var set = builder.Build();

        Assert.Equal(1, set.Count);
        Assert.Equal(low, set.IdAt(0).ToArray());
    }
}
