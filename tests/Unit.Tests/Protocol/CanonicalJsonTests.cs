using System.Buffers;
using System.Text;
using NostrRelay.Protocol;
using NostrRelay.Unit.Tests.Fixtures;

namespace NostrRelay.Unit.Tests.Protocol;

/// <summary>
/// NIP-01: the id is the SHA-256 of <c>[0,pubkey,created_at,kind,tags,content]</c> serialized "with no white
/// space or line breaks" and with JSON.stringify's escaping. The judge is nostr-tools: every expected value
/// here was made by it (tests/js/make-fixtures.mjs), never by the code under test.
/// </summary>
public sealed class CanonicalJsonTests
{
    public static TheoryData<string> Events => NostrToolsFixture.EventNames();
    public static TheoryData<string> LoneSurrogates => NostrToolsFixture.LoneSurrogateNames();

    [Theory, MemberData(nameof(Events))]
    public void id_is_the_one_nostr_tools_computed(string name)
    {
        var e = NostrToolsFixture.Event(name);
        Assert.Equal(e.Id, CanonicalJson.ComputeIdHex(e.Pubkey, e.CreatedAt, e.Kind, e.Tags, e.Content));
    }

    [Theory, MemberData(nameof(Events))]
    public void id_payload_is_byte_for_byte_nostr_tools_serializeEvent(string name)
    {
        var e = NostrToolsFixture.Event(name);
        var buffer = new ArrayBufferWriter<byte>();
        CanonicalJson.WriteIdPayload(buffer, e.Pubkey, e.CreatedAt, e.Kind, e.Tags, e.Content);
        AssertSameText(e.IdPayload, buffer.WrittenSpan);
    }

    [Theory, MemberData(nameof(Events))]
    public void serialized_event_is_byte_for_byte_JSON_stringify_with_keys_in_NIP01_order(string name)
    {
        var e = NostrToolsFixture.Event(name);
        var bytes = CanonicalJson.SerializeEvent(e.Id, e.Pubkey, e.CreatedAt, e.Kind, e.Tags, e.Content, e.Sig);
        AssertSameText(e.Json, bytes);
    }

    [Theory, MemberData(nameof(Events))]
    public void created_event_json_parses_back_to_the_same_fields(string name)
    {
        var e = NostrToolsFixture.Event(name);
        var created = CanonicalJson.CreateEvent(e.Id, e.Pubkey, e.CreatedAt, e.Kind, e.Tags, e.Content, e.Sig);
        var reparsed = EventReader.Parse(created.Json);
        AssertFields(e, reparsed);
        Assert.Equal(created.Json, reparsed.Json);
        Assert.Equal(e.Json, reparsed.JsonText);
    }

    [Theory, MemberData(nameof(LoneSurrogates))]
    public void lone_surrogates_are_escaped_as_lowercase_u_escapes_like_JSON_stringify(string name)
    {
        var c = NostrToolsFixture.LoneSurrogates.Single(x => x.Name == name);
        var buffer = new ArrayBufferWriter<byte>();
        CanonicalJson.WriteIdPayload(buffer, c.Pubkey, c.CreatedAt, c.Kind, c.Tags, c.Content);
        AssertSameText(c.IdPayload, buffer.WrittenSpan);
        Assert.Equal(c.Id, CanonicalJson.ComputeIdHex(c.Pubkey, c.CreatedAt, c.Kind, c.Tags, c.Content));
    }

    [Theory, MemberData(nameof(LoneSurrogates))]
    public void events_with_lone_surrogates_are_rejected_on_read(string name)
    {
        // A .NET string cannot hold what "\ud800" decodes to faithfully enough to re-serialize it, so the
        // reader refuses such events instead of storing one whose id it could not reproduce.
        var c = NostrToolsFixture.LoneSurrogates.Single(x => x.Name == name);
        var json = CanonicalJson.SerializeEvent(c.Id, c.Pubkey, c.CreatedAt, c.Kind, c.Tags, c.Content, new string('0', 128));
        var error = Assert.Throws<FormatException>(() => EventReader.Parse(json)).Message;
        Assert.StartsWith("invalid: ", error);
        Assert.Contains("UTF-16", error);
    }

    [Fact]
    public void composed_and_decomposed_e_acute_give_different_ids()
    {
        // NIP-01 hashes the bytes as sent: no Unicode normalization.
        var composed = NostrToolsFixture.Event("e acute composed U+00E9");
        var decomposed = NostrToolsFixture.Event("e acute decomposed e U+0301");
        Assert.NotEqual(composed.Content, decomposed.Content);
        Assert.NotEqual(composed.Id, decomposed.Id);
    }

    [Fact]
    public void the_fixture_covers_the_tricky_characters()
    {
        var all = string.Concat(NostrToolsFixture.Events.Select(e => e.Content + string.Concat(e.Tags.SelectMany(t => t))));
        for (var c = '\0'; c < ' '; c++) Assert.Contains(c, all);
        foreach (var c in "\u007f\u2028\u2029\"\\<>&/\u00e9\u0301\ufeff") Assert.Contains(c, all);
        Assert.Contains("</script>", all);
        Assert.Contains(NostrToolsFixture.Events, e => e.Content.Any(char.IsSurrogate));
        Assert.Contains(NostrToolsFixture.Events, e => e.Content.Length == 0 && e.Tags.Length == 0);
        Assert.Contains(NostrToolsFixture.Events, e => e.Kind == EventKind.MaxKind);
        Assert.Contains(NostrToolsFixture.Events, e => e.CreatedAt == (1L << 53) - 1);
        Assert.Contains(NostrToolsFixture.Events, e => Encoding.UTF8.GetByteCount(e.Json) > 16 * 1024);
    }

    internal static void AssertFields(FixtureEvent expected, NostrEvent actual)
    {
        Assert.Equal(expected.Id, actual.Id);
        Assert.Equal(expected.Pubkey, actual.Pubkey);
        Assert.Equal(expected.CreatedAt, actual.CreatedAt);
        Assert.Equal(expected.Kind, actual.Kind);
        Assert.Equal(expected.Tags, actual.Tags);
        Assert.Equal(expected.Content, actual.Content);
        Assert.Equal(expected.Sig, actual.Sig);
    }

    /// <summary>Compares as text first, so a failure shows where the escaping differs.</summary>
    private static void AssertSameText(string expected, ReadOnlySpan<byte> actualUtf8)
    {
        Assert.Equal(expected, Encoding.UTF8.GetString(actualUtf8));
        Assert.True(actualUtf8.SequenceEqual(Encoding.UTF8.GetBytes(expected)), "same text but different UTF-8 bytes");
    }
}
