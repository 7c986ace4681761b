using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using NostrRelay.Protocol;
using NostrRelay.Unit.Tests.Fixtures;

namespace NostrRelay.Unit.Tests.Protocol;

/// <summary>
/// NIP-01 event shape: id and pubkey are "32-bytes lowercase hex-encoded", sig is "64-bytes lowercase hex",
/// created_at a unix timestamp in seconds, kind an integer between 0 and 65535, tags an array of arrays of
/// strings, content an arbitrary string. Every rejection is an "invalid: ..." reason for OK false.
/// </summary>
public sealed class EventReaderTests
{
    private static readonly FixtureEvent Plain = NostrToolsFixture.Event("plain ascii");

    public static TheoryData<string> Events => NostrToolsFixture.EventNames();

    [Theory, MemberData(nameof(Events))]
    public void reads_every_event_nostr_tools_made(string name)
    {
        var e = NostrToolsFixture.Event(name);
        var evt = EventReader.Parse(Encoding.UTF8.GetBytes(e.Json));
        CanonicalJsonTests.AssertFields(e, evt);
        Assert.Equal(Encoding.UTF8.GetBytes(e.Json), evt.Json);
    }

    [Fact]
    public void reads_fields_in_any_order_and_stores_them_in_NIP01_order()
    {
        var source = JsonNode.Parse(Plain.Json)!.AsObject();
        var reversed = new JsonObject();
        foreach (var name in source.Select(p => p.Key).Reverse().ToArray()) reversed[name] = source[name]!.DeepClone();
        var evt = EventReader.Parse(Encoding.UTF8.GetBytes(reversed.ToJsonString()));
        CanonicalJsonTests.AssertFields(Plain, evt);
        Assert.Equal(Plain.Json, evt.JsonText);
    }

    [Fact]
    public void ignores_unknown_fields_and_does_not_keep_them()
    {
        var obj = JsonNode.Parse(Plain.Json)!.AsObject();
        obj.Insert(0, "seen_on", new JsonArray("wss://a", "wss://b"));
        obj["extra"] = JsonNode.Parse("""{"nested":[1,{"deep":[[["x"]]]}],"id":"not-an-id"}""");
        obj["note"] = null;
        var evt = EventReader.Parse(Encoding.UTF8.GetBytes(obj.ToJsonString()));
        CanonicalJsonTests.AssertFields(Plain, evt);
        Assert.Equal(Plain.Json, evt.JsonText);
    }

    public static TheoryData<string, string> Malformed()
    {
        var data = new TheoryData<string, string>();
        void Field(string field, string raw, string error) => data.Add(With(field, raw), error);

        foreach (var (field, length) in new[] { ("id", 64), ("pubkey", 64), ("sig", 128) })
        {
            var hex = field == "sig" ? Plain.Sig : Plain.Id;
            var error = $"invalid: {field} must be {length} lowercase hex characters";
            Field(field, Quote(hex.ToUpperInvariant()), error);
            Field(field, Quote(char.ToUpperInvariant(hex.First(char.IsLetter)) + hex[1..]), error);
            Field(field, Quote(hex[..^1]), error);
            Field(field, Quote(hex + "0"), error);
            Field(field, Quote(""), error);
            Field(field, Quote(new string('g', length)), error);
            Field(field, Quote("0x" + hex[2..]), error);
            Field(field, Quote(hex[..^1] + " "), error);
            Field(field, "12345", error);
            Field(field, "null", error);
            Field(field, "[]", error);
            // Escaped hex digits decode to valid hex, but no JSON.stringify writes them; refused as not plain hex.
            data.Add(Plain.Json.Replace($"\"{field}\":\"{Hex(field)}\"", $"\"{field}\":\"\\u0030{Hex(field)[1..]}\"", StringComparison.Ordinal), error);
        }

        const string createdAt = "invalid: created_at must be a non-negative integer";
        Field("created_at", Quote("1700000000"), createdAt);
        Field("created_at", "1700000000.5", createdAt);
        Field("created_at", "1.7e9", createdAt);
        Field("created_at", "-1", createdAt);
        Field("created_at", "9223372036854775808", createdAt);
        Field("created_at", "null", createdAt);
        Field("created_at", "true", createdAt);

        const string kind = "invalid: kind must be an integer between 0 and 65535";
        Field("kind", "65536", kind);
        Field("kind", "-1", kind);
        Field("kind", "1.5", kind);
        Field("kind", "2147483648", kind);
        Field("kind", Quote("1"), kind);
        Field("kind", "null", kind);

        Field("tags", Quote("t"), "invalid: tags must be an array of arrays of strings");
        Field("tags", "{}", "invalid: tags must be an array of arrays of strings");
        Field("tags", "null", "invalid: tags must be an array of arrays of strings");
        Field("tags", """["t","x"]""", "invalid: each tag must be an array of strings");
        Field("tags", """[["t"],{}]""", "invalid: each tag must be an array of strings");
        Field("tags", """[["t",1]]""", "invalid: tag values must be strings");
        Field("tags", """[["t",null]]""", "invalid: tag values must be strings");
        Field("tags", """[["t",["nested"]]]""", "invalid: tag values must be strings");
        Field("tags", """[["t",true]]""", "invalid: tag values must be strings");

        const string content = "invalid: content must be a string";
        Field("content", "1", content);
        Field("content", "null", content);
        Field("content", "[]", content);
        Field("content", """{"text":"x"}""", content);

        foreach (var field in new[] { "id", "pubkey", "created_at", "kind", "tags", "content", "sig" })
        {
            var obj = JsonNode.Parse(Plain.Json)!.AsObject();
            var value = obj[field]!.ToJsonString();
            obj.Remove(field);
            data.Add(obj.ToJsonString(), $"invalid: event is missing {field}");
            data.Add("{" + $"\"{field}\":{value}," + Plain.Json[1..], $"invalid: duplicate {field} field");
        }

        data.Add("[]", "invalid: event must be a JSON object");
        data.Add(Quote(Plain.Json), "invalid: event must be a JSON object");
        data.Add("{}", "invalid: event is missing id");
        return data;
    }

    [Theory, MemberData(nameof(Malformed))]
    public void rejects_malformed_events_with_an_invalid_reason(string json, string expectedError)
    {
        Assert.Equal(expectedError, ReadError(json));
        Assert.Equal(expectedError, Assert.Throws<FormatException>(() => EventReader.Parse(Encoding.UTF8.GetBytes(json))).Message);
    }

    [Fact]
    public void accepts_the_extremes_of_kind_and_created_at()
    {
        foreach (var (field, raw) in new[] { ("kind", "0"), ("kind", "65535"), ("created_at", "0"), ("created_at", "9223372036854775807") })
            Assert.Null(ReadError(With(field, raw)));
    }

    [Fact]
    public void rejects_more_tags_than_the_limit()
    {
        var json = With("tags", """[["a"],["b"],["c"]]""");
        Assert.Null(ReadError(json, maxTags: 3));
        Assert.Equal("invalid: too many tags (max 2)", ReadError(json, maxTags: 2));
    }

    [Fact]
    public void reads_an_event_embedded_in_a_frame_and_stops_at_its_end()
    {
        var frame = Encoding.UTF8.GetBytes($"[\"EVENT\",{Plain.Json},\"after\"]");
        var reader = new Utf8JsonReader(frame);
        reader.Read();
        reader.Read();
        reader.Read();
        Assert.True(EventReader.TryRead(ref reader, out var evt, out var error), error);
        CanonicalJsonTests.AssertFields(Plain, evt!);
        Assert.True(reader.Read());
        Assert.Equal("after", reader.GetString());
    }

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(64)]
    [InlineData(200)]
    public void reads_an_event_split_across_buffer_segments(int segmentLength)
    {
        // A frame from a pipe or from several WebSocket receives arrives as a ReadOnlySequence; ids and
        // signatures then straddle segments and the reader sees them through ValueSequence, not ValueSpan.
        var e = NostrToolsFixture.Event("unicode in tags");
        var reader = new Utf8JsonReader(SegmentedJson.Split(Encoding.UTF8.GetBytes(e.Json), segmentLength));
        reader.Read();
        Assert.True(EventReader.TryRead(ref reader, out var evt, out var error), error);
        CanonicalJsonTests.AssertFields(e, evt!);
        Assert.Equal(e.Json, evt!.JsonText);
    }

    private static string? ReadError(string json, int maxTags = int.MaxValue)
    {
        var reader = new Utf8JsonReader(Encoding.UTF8.GetBytes(json), new JsonReaderOptions { MaxDepth = 8 });
        reader.Read();
        var ok = EventReader.TryRead(ref reader, out var evt, out var error, maxTags);
        Assert.Equal(ok, evt is not null);
        Assert.Equal(ok, error is null);
        return error;
    }

    private static string Hex(string field) => field switch { "id" => Plain.Id, "pubkey" => Plain.Pubkey, _ => Plain.Sig };

    private static string Quote(string s) => JsonSerializer.Serialize(s);

    /// <summary>The plain fixture event with one field's JSON text replaced, other fields untouched.</summary>
    private static string With(string field, string rawValue)
    {
        var obj = JsonNode.Parse(Plain.Json)!.AsObject();
        var old = obj[field]!.ToJsonString();
        var needle = $"\"{field}\":{old}";
        Assert.Contains(needle, Plain.Json);
        return Plain.Json.Replace(needle, $"\"{field}\":{rawValue}", StringComparison.Ordinal);
    }
}
