using System.Text;
using Microsoft.Extensions.DependencyInjection;
using NostrRelay.Protocol;
using NostrRelay.Unit.Tests.Fixtures;
using Orleans.Serialization;

namespace NostrRelay.Unit.Tests.Protocol;

/// <summary>
/// An event read back from a store starts as its bytes: its id and created_at come from their places in the relay's
/// serialization, and the other fields are read when first asked for. Whatever is asked, the answer is the event's.
/// </summary>
public sealed class StoredEventTests
{
    public static TheoryData<string> Events => NostrToolsFixture.EventNames();

    private static NostrEvent Arrived(FixtureEvent e) => EventReader.Parse(Encoding.UTF8.GetBytes(e.Json));

    [Theory, MemberData(nameof(Events))]
    public void a_stored_event_reads_back_every_field_of_the_event_it_was(string name)
    {
        var e = NostrToolsFixture.Event(name);
        var arrived = Arrived(e);

        var stored = EventReader.ParseStored(arrived.Json);

        CanonicalJsonTests.AssertFields(e, stored);
        Assert.Same(arrived.Json, stored.Json);
        Assert.Equal(arrived, stored);
        Assert.Equal(arrived.GetHashCode(), stored.GetHashCode());
        Assert.Equal(arrived.Expiration, EventReader.ParseStored(arrived.Json).Expiration);
        Assert.Equal(arrived.Address, EventReader.ParseStored(arrived.Json).Address);
    }

    [Fact]
    public void the_id_created_at_and_kind_of_each_fixture_come_from_the_stored_layout_and_match()
    {
        foreach (var e in NostrToolsFixture.Events)
        {
            var stored = EventReader.ParseStored(Arrived(e).Json);
            Assert.Equal((e.Id, e.CreatedAt, e.Kind), (stored.Id, stored.CreatedAt, stored.Kind));
        }
    }

    [Theory]
    [InlineData("""[["expiration","1700000000"]]""", 1_700_000_000L)]
    [InlineData("""[["t","x"],["expiration","12"],["expiration","99"]]""", 12L)]
    [InlineData("""[["expiration","soon"]]""", null)]
    [InlineData("""[["t","expiration"]]""", null)]
    [InlineData("""[]""", null)]
    public void expiration_is_read_from_a_stored_event_as_from_a_new_one(string tags, long? expected)
    {
        var arrived = CanonicalJson.CreateEvent(new string('a', 64), new string('b', 64), 1_700_000_000, 1,
            System.Text.Json.JsonSerializer.Deserialize<string[][]>(tags)!, "say \"expiration\" and mean nothing", new string('c', 128));

        Assert.Equal(expected, arrived.Expiration);
        Assert.Equal(expected, EventReader.ParseStored(arrived.Json).Expiration);
    }

    [Fact]
    public void bytes_in_another_field_order_are_read_whole_and_give_the_same_event()
    {
        var e = NostrToolsFixture.Event("plain ascii");
        var reordered = Encoding.UTF8.GetBytes(
            $$"""{"kind":{{e.Kind}},"created_at":{{e.CreatedAt}},"pubkey":"{{e.Pubkey}}","id":"{{e.Id}}","sig":"{{e.Sig}}","content":{{System.Text.Json.JsonSerializer.Serialize(e.Content)}},"tags":[]}""");

        var stored = EventReader.ParseStored(reordered);

        Assert.Equal((e.Id, e.Pubkey, e.CreatedAt, e.Kind, e.Sig), (stored.Id, stored.Pubkey, stored.CreatedAt, stored.Kind, stored.Sig));
    }

    [Theory]
    [InlineData("{}")]
    [InlineData("""{"id":"zz"}""")]
    [InlineData("not json at all")]
    public void bytes_that_are_not_an_event_fail_where_the_store_reads_them(string json)
    {
        Assert.ThrowsAny<Exception>(() => EventReader.ParseStored(Encoding.UTF8.GetBytes(json)));
    }

    [Fact]
    public void with_replaces_one_part_of_a_stored_event_and_keeps_the_rest()
    {
        var e = NostrToolsFixture.Event("plain ascii");
        var stored = EventReader.ParseStored(Arrived(e).Json);

        var rewritten = stored with { Json = "{\"rewritten\":true}"u8.ToArray() };
        var resigned = EventReader.ParseStored(Arrived(e).Json) with { Sig = new string('0', 128) };

        Assert.Equal((e.Id, e.Pubkey, e.Content), (rewritten.Id, rewritten.Pubkey, rewritten.Content));
        Assert.Equal("{\"rewritten\":true}", rewritten.JsonText);
        Assert.Equal((e.Id, e.Content, new string('0', 128)), (resigned.Id, resigned.Content, resigned.Sig));
        Assert.NotEqual(stored, rewritten);
    }

    /// <summary>
    /// An event as the Orleans serializer of the build before lazy events (commit 24c09ad) wrote it: CanonicalJson.CreateEvent
    /// of id "a"×64, pubkey "b"×64, created_at 1700000000, kind 1, tags [["e","c"×64],["t","wire"]], content
    /// "written by an earlier build", sig "d"×128.
    /// </summary>
    private const string EarlierBuildsBytes = "IOhAgWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFBgWJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJhAPFTZQEFIQAFIQAFQQNlQIFjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2Nj4CAABUEDdEAJd2lyZeDgQTd3cml0dGVuIGJ5IGFuIGVhcmxpZXIgYnVpbGRBAgJkZGRkZGRkZGRkZGRkZGRkZGRkZGRkZGRkZGRkZGRkZGRkZGRkZGRkZGRkZGRkZGRkZGRkZGRkZGRkZGRkZGRkZGRkZGRkZGRkZGRkZGRkZGRkZGRkZGRkZGRkZGRkZGRkZGRkZGRkZGRkZGRkZGRkZGRkZGRkZGRkZGRkZGRkZEEaB3siaWQiOiJhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhIiwicHVia2V5IjoiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYiIsImNyZWF0ZWRfYXQiOjE3MDAwMDAwMDAsImtpbmQiOjEsInRhZ3MiOltbImUiLCJjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjIl0sWyJ0Iiwid2lyZSJdXSwiY29udGVudCI6IndyaXR0ZW4gYnkgYW4gZWFybGllciBidWlsZCIsInNpZyI6ImRkZGRkZGRkZGRkZGRkZGRkZGRkZGRkZGRkZGRkZGRkZGRkZGRkZGRkZGRkZGRkZGRkZGRkZGRkZGRkZGRkZGRkZGRkZGRkZGRkZGRkZGRkZGRkZGRkZGRkZGRkZGRkZGRkZGRkZGRkZGRkZGRkZGRkZGRkZGRkZGRkZGRkZGRkIn3g";

    private static NostrEvent WireEvent() => CanonicalJson.CreateEvent(new string('a', 64), new string('b', 64), 1_700_000_000, 1,
        [["e", new string('c', 64)], ["t", "wire"]], "written by an earlier build", new string('d', 128));

    [Fact]
    public void silos_of_this_build_and_the_one_before_exchange_events_in_the_same_bytes()
    {
        var serializer = new ServiceCollection().AddSerializer().BuildServiceProvider().GetRequiredService<Serializer>();
        var earlier = Convert.FromBase64String(EarlierBuildsBytes);
        var sent = WireEvent();

        var received = serializer.Deserialize<NostrEvent>(earlier)!;

        Assert.Equal(earlier, serializer.SerializeToArray(sent));
        Assert.Equal(earlier, serializer.SerializeToArray(EventReader.ParseStored(sent.Json)));   // a stored event is read whole first
        Assert.Equal((sent.Id, sent.Pubkey, sent.CreatedAt, sent.Kind, sent.Content, sent.Sig), (received.Id, received.Pubkey, received.CreatedAt, received.Kind, received.Content, received.Sig));
        Assert.Equal(sent.Tags, received.Tags);
        Assert.Equal(sent.Json, received.Json);
        Assert.Equal(sent, received);
    }
}
