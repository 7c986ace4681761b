using System.Buffers;
using System.Security.Cryptography;
using System.Text;
using NostrRelay.Protocol;

namespace NostrRelay.Storage.MySql;

/// <summary>How the MariaDB store spells the relay's strings as column values (see <see cref="MySqlSchema"/>).</summary>
internal static class MySqlKeys
{
    /// <summary>The 32 bytes of a 64-character lowercase hex id or pubkey; null for anything else, which no stored event has.</summary>
    public static byte[]? Hex32(string hex)
    {
        if (!NostrRelay.Protocol.Hex.IsLowerHex(hex, 64)) return null;
        var bytes = new byte[32];
        return Convert.FromHexString(hex, bytes, out _, out var written) == OperationStatus.Done && written == 32 ? bytes : null;
    }

    public static string ToHex(byte[] bytes) => Convert.ToHexStringLower(bytes);

    public static byte[] Stream(string stream) => Encoding.UTF8.GetBytes(stream);

    /// <summary>
    /// A word as the full-text index holds it: "w" and 20 hex digits of its SHA-256, a token InnoDB's parser keeps whole
    /// whatever the word (one letter, a stop word, a script without spaces).
    /// </summary>
    public static void AppendSearchToken(StringBuilder text, string word)
    {
        Span<byte> hash = stackalloc byte[32];
        var length = Encoding.UTF8.GetByteCount(word);
        byte[]? rented = null;
        var utf8 = length <= 256 ? stackalloc byte[256] : (rented = ArrayPool<byte>.Shared.Rent(length));
        try
        {
            var written = Encoding.UTF8.GetBytes(word, utf8);
            SHA256.HashData(utf8[..written], hash);
        }
        finally
        {
            if (rented is not null) ArrayPool<byte>.Shared.Return(rented);
        }
        text.Append('w').Append(Convert.ToHexStringLower(hash[..10]));
    }

    /// <summary>The tokens of a content's indexed words, space separated; empty when it has none.</summary>
    public static string SearchTokens(string content)
    {
        var text = new StringBuilder();
        foreach (var word in SearchQuery.IndexedWords(content, distinct: true))
        {
            if (text.Length > 0) text.Append(' ');
            AppendSearchToken(text, word);
        }
        return text.ToString();
    }

    /// <summary>A boolean-mode full-text query that needs every term.</summary>
    public static string SearchMatch(SearchQuery query)
    {
        var text = new StringBuilder();
        foreach (var term in query.Terms)
        {
            if (text.Length > 0) text.Append(' ');
            text.Append('+');
            AppendSearchToken(text, term);
        }
        return text.ToString();
    }
}
