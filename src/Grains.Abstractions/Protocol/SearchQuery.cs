using System.Globalization;
using System.Text;

namespace NostrRelay.Protocol;

/// <summary>
/// A NIP-50 <c>search</c> string, read the way every store and live matching read it: words are runs of letters and
/// digits, lower-cased (accents are kept: the relay runs without ICU, so "café" and "cafe" are two words); an event matches when its content has every word of the query (in any order,
/// as whole words). <c>key:value</c> pairs are extensions: <c>include:spam</c> is accepted (this relay filters no spam
/// out of search), every other one is ignored, as the NIP asks.
/// </summary>
public sealed class SearchQuery
{
    /// <summary>Words of a query looked at; more are ignored, so one query costs its neighbours a bounded amount.</summary>
    public const int MaxTerms = 16;

    private SearchQuery(string[] terms) => Terms = terms;

    /// <summary>The words every match must contain, distinct, in the order given.</summary>
    public string[] Terms { get; }

    /// <summary>True when the query has no word to look for (only extensions, or nothing): it then does not narrow the filter.</summary>
    public bool IsEmpty => Terms.Length == 0;

    public static SearchQuery Parse(string search)
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
        return new SearchQuery([.. terms]);
    }

    /// <summary>"key:value" with a word before the colon and something after it: an extension, not words to find.</summary>
    private static bool IsExtension(string part)
    {
        var colon = part.IndexOf(':');
        return colon > 0 && colon < part.Length - 1 && char.IsLetter(part[0]);
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
        foreach (var rune in text.EnumerateRunes())
        {
            if (Rune.IsLetterOrDigit(rune))
            {
                word.Append(rune.ToString());
                continue;
            }
            if (Rune.GetUnicodeCategory(rune) == UnicodeCategory.NonSpacingMark && word.Length > 0)
            {
                word.Append(rune.ToString());   // a combining accent belongs to its word
                continue;
            }
            if (word.Length > 0) yield return Fold(word);
            word.Clear();
        }
        if (word.Length > 0) yield return Fold(word);
    }

    /// <summary>The words joined by spaces: what the Sqlite and Postgres full-text indexes are given for an event.</summary>
    public static string IndexText(string content) => string.Join(' ', Words(content));

    /// <summary>Lower case, by Unicode's simple case mapping (no culture).</summary>
    private static string Fold(StringBuilder word) => word.ToString().ToLowerInvariant();
}
