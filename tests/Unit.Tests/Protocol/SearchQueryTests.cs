using NostrRelay.Protocol;

namespace NostrRelay.Unit.Tests.Protocol;

/// <summary>
/// NIP-50: "search field is a string describing a query in a human-readable form"; "Relays SHOULD perform matching
/// against content"; "A query string may contain key:value pairs (two words separated by colon), these are extensions,
/// relays SHOULD ignore extensions they don't support"; "include:spam - turn off spam filtering".
/// </summary>
public sealed class SearchQueryTests
{
    [Fact]
    public void words_are_letters_and_digits_lower_cased_and_extensions_are_left_out()
    {
        var query = SearchQuery.Parse("Best NOSTR apps, 2024! include:spam language:en nostr");

        Assert.Equal(["best", "nostr", "apps", "2024"], query.Terms);
        Assert.True(SearchQuery.Parse("include:spam domain:example.com").IsEmpty);
        Assert.Equal(["ünïcödé", "日本語"], SearchQuery.Parse("Ünïcödé 日本語").Terms);
        Assert.Equal(["हिंदी", "नमस्ते"], SearchQuery.Parse("हिंदी नमस्ते").Terms);   // vowel signs and viramas stay in their word
        Assert.Equal(["https", "github", "com", "nostr", "npub1abc"], SearchQuery.Parse("https://github.com nostr:npub1abc").Terms);   // not extensions
    }

    [Fact]
    public void content_matches_when_it_has_every_word_in_any_order_as_whole_words()
    {
        var query = SearchQuery.Parse("orleans relay");

        Assert.True(query.Matches("A relay, built on Orleans."));
        Assert.True(query.Matches("ORLEANS\nrelay"));
        Assert.False(query.Matches("a relay built on grains"));
        Assert.False(query.Matches("relays on orleansdb"));   // whole words only
        Assert.True(SearchQuery.Parse("include:spam").Matches("anything at all"));
    }

    [Fact]
    public void a_text_with_more_of_the_words_in_fewer_words_scores_higher()
    {
        var query = SearchQuery.Parse("nostr relay");

        var focused = query.Score("nostr relay");
        var repeated = query.Score("nostr relay nostr relay");
        var diluted = query.Score("a long note that mentions nostr once and a relay once among many other words");
        var half = query.Score("nostr only");

        Assert.True(focused > diluted);
        Assert.True(repeated > diluted);
        Assert.True(focused > half);
        Assert.Equal(0, query.Score("nothing here"));
    }

    [Fact]
    public void the_index_text_is_the_words_joined_by_spaces()
    {
        Assert.Equal("hello world 42", SearchQuery.IndexText("Hello, World! #42"));
        Assert.Equal("", SearchQuery.IndexText("!!! ..."));
        Assert.Equal(SearchQuery.MaxTerms, SearchQuery.Parse(string.Join(' ', Enumerable.Range(0, 40).Select(i => $"w{i}"))).Terms.Length);
        Assert.Equal("short", SearchQuery.IndexText(new string('a', SearchQuery.MaxWordLength + 1) + " short"));
        Assert.Equal("a b", SearchQuery.IndexText("a b a b a", distinct: true));
    }
}
