using System.Text.Json;

namespace NostrRelay.Unit.Tests.Fixtures;

/// <summary>One event finalized by nostr-tools, with the strings JSON.stringify made of it.</summary>
public sealed record FixtureEvent(
    string Name, string SecretKey, string Id, string Pubkey, long CreatedAt, int Kind, string[][] Tags, string Content, string Sig,
    string Json, string IdPayload);

/// <summary>A string nostr-tools can hash but a .NET string reader cannot return: a lone UTF-16 surrogate.</summary>
public sealed record LoneSurrogateCase(string Name, string Pubkey, long CreatedAt, int Kind, string[][] Tags, string Content, string Id, string IdPayload);

/// <summary>
/// Fixtures/nostr-tools-events.json, written by tests/js/make-fixtures.mjs. Read with JsonDocument only,
/// never with the relay's own reader, so the code under test does not judge itself.
/// </summary>
public static class NostrToolsFixture
{
    private static readonly Lazy<Loaded> Data = new(Load);

    public static IReadOnlyList<FixtureEvent> Events => Data.Value.Events;
    public static IReadOnlyList<LoneSurrogateCase> LoneSurrogates => Data.Value.LoneSurrogates;
    public static IReadOnlyList<(string SecretKey, string Pubkey)> Keys => Data.Value.Keys;

    public static FixtureEvent Event(string name) => Events.Single(e => e.Name == name);

    /// <summary>Case names, so each fixture event is its own test case.</summary>
    public static TheoryData<string> EventNames()
    {
        var data = new TheoryData<string>();
        foreach (var e in Events) data.Add(e.Name);
        return data;
    }

    public static TheoryData<string> LoneSurrogateNames()
    {
        var data = new TheoryData<string>();
        foreach (var c in LoneSurrogates) data.Add(c.Name);
        return data;
    }

    private sealed record Loaded(FixtureEvent[] Events, LoneSurrogateCase[] LoneSurrogates, (string, string)[] Keys);

    private static Loaded Load()
    {
        var path = Path.Combine(AppContext.BaseDirectory, "Fixtures", "nostr-tools-events.json");
        using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
        var root = doc.RootElement;
        var events = root.GetProperty("events").EnumerateArray().Select(e =>
        {
            var evt = e.GetProperty("event");
            return new FixtureEvent(
                e.GetProperty("name").GetString()!, e.GetProperty("sk").GetString()!,
                evt.GetProperty("id").GetString()!, evt.GetProperty("pubkey").GetString()!,
                evt.GetProperty("created_at").GetInt64(), evt.GetProperty("kind").GetInt32(),
                Tags(evt.GetProperty("tags")), evt.GetProperty("content").GetString()!, evt.GetProperty("sig").GetString()!,
                e.GetProperty("json").GetString()!, e.GetProperty("idPayload").GetString()!);
        }).ToArray();
        var lone = root.GetProperty("loneSurrogates").EnumerateArray().Select(c => new LoneSurrogateCase(
            c.GetProperty("name").GetString()!, c.GetProperty("pubkey").GetString()!,
            c.GetProperty("created_at").GetInt64(), c.GetProperty("kind").GetInt32(),
            c.GetProperty("tagsUtf16").EnumerateArray().Select(t => t.EnumerateArray().Select(Utf16).ToArray()).ToArray(),
            Utf16(c.GetProperty("contentUtf16")), c.GetProperty("id").GetString()!, c.GetProperty("idPayload").GetString()!)).ToArray();
        var keys = root.GetProperty("keys").EnumerateArray()
            .Select(k => (k.GetProperty("sk").GetString()!, k.GetProperty("pubkey").GetString()!)).ToArray();
        return new Loaded(events, lone, keys);
    }

    private static string[][] Tags(JsonElement tags) =>
        tags.EnumerateArray().Select(t => t.EnumerateArray().Select(v => v.GetString()!).ToArray()).ToArray();

    private static string Utf16(JsonElement codeUnits) => new(codeUnits.EnumerateArray().Select(u => (char)u.GetUInt16()).ToArray());
}
