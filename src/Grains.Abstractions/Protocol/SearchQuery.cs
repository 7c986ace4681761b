using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;

namespace NostrRelay.Protocol;

/// <summary>
/// A NIP-50 <c>search</c> string, read the way every store and live matching read it. A word is a run of letters and
/// digits with the marks that belong to them (accents, vowel signs, viramas, joiners), lower-cased; accents are kept
/// (the relay runs without ICU, so "café" and "cafe" are two words), and a word longer than
/// <see cref="MaxWordLength"/> is not a word. Scripts written without spaces (Chinese, Japanese, Thai) make one word
/// of a whole run. An event matches when its content has every word of the query, in any order, as whole words.
/// <c>key:value</c> pairs (a lower-case ASCII key, a value without a slash) are extensions: <c>include:spam</c> is
/// accepted (this relay filters no spam out of search), every other one is ignored, as the NIP asks.
/// </summary>
public sealed class SearchQuery
{
    /// <summary>Words of a query looked at; more are ignored, so one query costs its neighbours a bounded amount.</summary>
    public const int MaxTerms = 16;

    /// <summary>Characters of the longest word: longer runs are not words anyone searches for, and Postgres caps a lexeme.</summary>
    public const int MaxWordLength = 100;

    /// <summary>Words of one event's content an index keeps: a 256 KiB note is not a dictionary.</summary>
    public const int MaxIndexedWords = 10_000;

    private static readonly ConditionalWeakTable<string, SearchQuery> Parsed = [];

    private SearchQuery(string[] terms) => Terms = terms;

    /// <summary>The words every match must contain, distinct, in the order given.</summary>
    public string[] Terms { get; }

    /// <summary>True when the query has no word to look for (only extensions, or nothing): it then does not narrow the filter.</summary>
    public bool IsEmpty => Terms.Length == 0;

    /// <summary>The query of a search string; parsed once per string instance, since a filter is matched against many events.</summary>
    public static SearchQuery Parse(string search) => Parsed.GetValue(search, static text => new SearchQuery(ReadTerms(text)));

    private static string[] ReadTerms(string search)
    {
        var terms = new List<string>();
        foreach (var part in search.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries))
        {
            if (IsExtension(part)) continue;
            foreach (var word in Words(part))
            {
                if (terms.Count == MaxTerms) break;
                if (!terms.Contains(word)) terms.Add(word);
            }
        }
        return [.. terms];
    }

    /// <summary>"key:value": a lower-case ASCII key and a value without a slash (so a URL or "nostr:npub1..." is searched for).</summary>
    private static bool IsExtension(string part)
    {
        var colon = part.IndexOf(':');
        if (colon <= 0 || colon == part.Length - 1 || part.IndexOf('/') >= 0) return false;
        for (var i = 0; i < colon; i++)
            if (part[i] is < 'a' or > 'z') return false;
        return !part.AsSpan(0, colon).SequenceEqual("nostr");
    }

    /// <summary>True when <paramref name="content"/> has every word of the query.</summary>
    public bool Matches(string content)
    {
        if (Terms.Length == 0) return true;
        var found = 0;
        Span<bool> seen = stackalloc bool[Terms.Length];
        foreach (var word in Words(content))
        {
            var index = Array.IndexOf(Terms, word);
            if (index < 0 || seen[index]) continue;
            seen[index] = true;
            if (++found == Terms.Length) return true;
        }
        return false;
    }

    /// <summary>
    /// How well <paramref name="content"/> answers the query (higher first), for stores that rank without an engine:
    /// each query word counts more the more often it appears, with diminishing returns, and less in a longer text.
    /// </summary>
    public double Score(string content)
    {
        Span<int> counts = stackalloc int[Terms.Length];
        var length = 0;
        foreach (var word in Words(content))
        {
            length++;
            var index = Array.IndexOf(Terms, word);
            if (index >= 0) counts[index]++;
        }
        double score = 0;
        foreach (var count in counts) score += count / (count + 1.0);
        return score / (1 + Math.Log(1 + length));
    }

    /// <summary>The text's words as search reads them: what an index stores for an event's content.</summary>
    public static IEnumerable<string> Words(string text)
    {
        var word = new StringBuilder();
        var tooLong = false;
        var index = 0;
        var chars = new char[2];
        while (index < text.Length)
        {
            var c = text[index];
            if (c < 0x80)
            {
                // ASCII, most of what is written: no rune decoding, case by a bit.
                index++;
                if (char.IsAsciiLetterOrDigit(c))
                {
                    if (word.Length + 1 > MaxWordLength) tooLong = true;
                    else word.Append(char.IsAsciiLetterUpper(c) ? (char)(c | 0x20) : c);
                    continue;
                }
                if (word.Length > 0 && !tooLong) yield return word.ToString();
                word.Clear();
                tooLong = false;
                continue;
            }
            if (Rune.DecodeFromUtf16(text.AsSpan(index), out var rune, out var consumed) != System.Buffers.OperationStatus.Done)
                rune = Rune.ReplacementChar;
            index += consumed;
            if (IsWordPart(rune, word.Length > 0))
            {
                if (word.Length + 2 > MaxWordLength) tooLong = true;
                else word.Append(chars, 0, Rune.ToLowerInvariant(rune).EncodeToUtf16(chars));
                continue;
            }
            if (word.Length > 0 && !tooLong) yield return word.ToString();
            word.Clear();
            tooLong = false;
        }
        if (word.Length > 0 && !tooLong) yield return word.ToString();
    }

    /// <summary>Letters and digits start or continue a word; marks and joiners only continue one.</summary>
    private static bool IsWordPart(Rune rune, bool inWord)
    {
        if (Rune.IsLetterOrDigit(rune)) return true;
        if (!inWord) return false;
        return Rune.GetUnicodeCategory(rune) is UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark or UnicodeCategory.EnclosingMark
            || rune.Value is 0x200C or 0x200D;   // zero-width non-joiner and joiner, inside Indic and Arabic words
    }

    /// <summary>
    /// The words joined by spaces, at most <see cref="MaxIndexedWords"/> (with <paramref name="distinct"/>, each once):
    /// what the Sqlite and Postgres full-text indexes are given for an event.
    /// </summary>
    public static string IndexText(string content, bool distinct = false) => string.Join(' ', IndexedWords(content, distinct));

    /// <summary>The words an index keeps for a content: at most <see cref="MaxIndexedWords"/>, each once with <paramref name="distinct"/>.</summary>
    public static IEnumerable<string> IndexedWords(string content, bool distinct)
    {
        if (content.Length == 0) yield break;
        HashSet<string>? seen = distinct ? new(StringComparer.Ordinal) : null;
        var count = 0;
        foreach (var word in Words(content))
        {
            if (seen is not null && !seen.Add(word)) continue;
            if (++count > MaxIndexedWords) yield break;
            yield return word;
        }
    }
}
