using System.Buffers;
using System.Buffers.Text;
using System.Text;

namespace NostrRelay.Protocol;

/// <summary>
/// Writes JSON strings and numbers exactly as JavaScript's JSON.stringify does, because that is what
/// nostr-tools hashes to make event ids: UTF-8, non-ASCII verbatim (emoji, U+2028, U+007F raw), no HTML
/// escaping, \b \t \n \f \r \" \\ as short escapes, other control characters and lone surrogates as
/// lowercase \u00xx. Utf8JsonWriter escapes differently even when relaxed, hence this writer.
/// </summary>
public static class JsonText
{
    private static readonly SearchValues<char> NeedsEscape = SearchValues.Create(BuildEscapeSet());
    private static ReadOnlySpan<byte> Hex => "0123456789abcdef"u8;

    private static string BuildEscapeSet()
    {
        var sb = new StringBuilder();
        for (var c = '\0'; c < ' '; c++) sb.Append(c);
        sb.Append('"').Append('\\');
        for (var c = '\uD800'; c <= '\uDFFF'; c++) sb.Append(c);
        return sb.ToString();
    }

    /// <summary>Writes <paramref name="value"/> as a quoted JSON string.</summary>
    public static void WriteString(IBufferWriter<byte> output, ReadOnlySpan<char> value)
    {
        WriteByte(output, (byte)'"');
        while (!value.IsEmpty)
        {
            var stop = value.IndexOfAny(NeedsEscape);
            var plain = stop < 0 ? value : value[..stop];
            if (!plain.IsEmpty)
            {
                var span = output.GetSpan(Encoding.UTF8.GetMaxByteCount(plain.Length));
                output.Advance(Encoding.UTF8.GetBytes(plain, span));
            }
            if (stop < 0) break;
            var c = value[stop];
            if (char.IsHighSurrogate(c) && stop + 1 < value.Length && char.IsLowSurrogate(value[stop + 1]))
            {
                var span = output.GetSpan(4);
                output.Advance(Encoding.UTF8.GetBytes(value.Slice(stop, 2), span));
                value = value[(stop + 2)..];
                continue;
            }
            WriteEscape(output, c);
            value = value[(stop + 1)..];
        }
        WriteByte(output, (byte)'"');
    }

    private static void WriteEscape(IBufferWriter<byte> output, char c)
    {
        var span = output.GetSpan(6);
        span[0] = (byte)'\\';
        byte shortForm = c switch
        {
            '"' => (byte)'"', '\\' => (byte)'\\', '\b' => (byte)'b', '\t' => (byte)'t',
            '\n' => (byte)'n', '\f' => (byte)'f', '\r' => (byte)'r', _ => 0,
        };
        if (shortForm != 0)
        {
            span[1] = shortForm;
            output.Advance(2);
            return;
        }
        span[1] = (byte)'u';
        span[2] = Hex[(c >> 12) & 0xF];
        span[3] = Hex[(c >> 8) & 0xF];
        span[4] = Hex[(c >> 4) & 0xF];
        span[5] = Hex[c & 0xF];
        output.Advance(6);
    }

    public static void WriteNumber(IBufferWriter<byte> output, long value)
    {
        var span = output.GetSpan(20);
        Utf8Formatter.TryFormat(value, span, out var written);
        output.Advance(written);
    }

    public static void WriteByte(IBufferWriter<byte> output, byte b)
    {
        output.GetSpan(1)[0] = b;
        output.Advance(1);
    }

    public static void WriteRaw(IBufferWriter<byte> output, ReadOnlySpan<byte> bytes)
    {
        var span = output.GetSpan(bytes.Length);
        bytes.CopyTo(span);
        output.Advance(bytes.Length);
    }

    /// <summary>Writes a tags array: <c>[["e","..."],["p","..."]]</c>.</summary>
    public static void WriteTags(IBufferWriter<byte> output, string[][] tags)
    {
        WriteByte(output, (byte)'[');
        for (var i = 0; i < tags.Length; i++)
        {
            if (i > 0) WriteByte(output, (byte)',');
            WriteByte(output, (byte)'[');
            var tag = tags[i];
            for (var j = 0; j < tag.Length; j++)
            {
                if (j > 0) WriteByte(output, (byte)',');
                WriteString(output, tag[j]);
            }
            WriteByte(output, (byte)']');
        }
        WriteByte(output, (byte)']');
    }
}
