using System.Buffers;
using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;

namespace NostrRelay.Connections;

/// <summary>
/// A WebSocket opening handshake (RFC 6455 §4.2.1) read off a raw connection: the request line, its headers, and the
/// key to answer. Only a plain, complete one parses; anything else (another method, a body, a version other than 13,
/// folded or odd header lines) is left to Kestrel, which answers it as it always has.
/// </summary>
internal sealed class UpgradeRequest
{
    /// <summary>Kestrel's own limit for the request line and headers is 32 KiB; a handshake is far below this one.</summary>
    public const int MaxLength = 8 * 1024;

    private static ReadOnlySpan<byte> HeadEnd => "\r\n\r\n"u8;
    private static ReadOnlySpan<byte> Get => "GET "u8;
    private const string AcceptGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

    private UpgradeRequest(string path, string query, string host, string key, IHeaderDictionary? headers)
    {
        Path = path;
        Query = query;
        Host = host;
        Key = key;
        Headers = headers;
    }

    /// <summary>The request's path, percent-decoded as ASP.NET decodes it.</summary>
    public string Path { get; }

    /// <summary>The query string with its "?", or empty.</summary>
    public string Query { get; }

    public string Host { get; }

    /// <summary>Sec-WebSocket-Key as sent.</summary>
    public string Key { get; }

    /// <summary>Every header, when they were asked for.</summary>
    public IHeaderDictionary? Headers { get; }

    /// <summary>True while what has arrived could still be the start of a GET (fewer bytes than "GET " compare equal).</summary>
    public static bool MayBeGet(ReadOnlySequence<byte> received)
    {
        Span<byte> start = stackalloc byte[4];
        var length = (int)Math.Min(received.Length, 4);
        received.Slice(0, length).CopyTo(start);
        return start[..length].SequenceEqual(Get[..length]);
    }

    /// <summary>True when a line of what has arrived ends with LF alone, which RFC 9112 lets a server accept (Kestrel does).</summary>
    public static bool HasBareLineFeed(ReadOnlySequence<byte> received)
    {
        var previous = (byte)0;
        foreach (var segment in received)
        {
            foreach (var b in segment.Span)
            {
                if (b == '\n' && previous != '\r') return true;
                previous = b;
            }
        }
        return false;
    }

    /// <summary>Where the request's head ends (after its blank line), or null while it has not all arrived.</summary>
    public static SequencePosition? FindEnd(ReadOnlySequence<byte> received)
    {
        var reader = new SequenceReader<byte>(received);
        return reader.TryReadTo(out ReadOnlySequence<byte> _, HeadEnd) ? reader.Position : null;
    }

    /// <summary>
    /// The handshake in <paramref name="head"/> (request line through the blank line), or null when it is not a plain
    /// one. Only the headers the handshake needs become strings, unless <paramref name="keepHeaders"/> asks for all.
    /// </summary>
    public static UpgradeRequest? Parse(ReadOnlySpan<byte> head, bool keepHeaders)
    {
        var lineEnd = head.IndexOf("\r\n"u8);
        if (lineEnd < 0 || !TryParseRequestLine(head[..lineEnd], out var path, out var query)) return null;
        IHeaderDictionary? headers = keepHeaders ? new HeaderDictionary() : null;
        string? host = null, key = null;
        bool connectionUpgrade = false, upgradeWebSocket = false, version13 = false;
        var rest = head[(lineEnd + 2)..];
        while (true)
        {
            lineEnd = rest.IndexOf("\r\n"u8);
            if (lineEnd < 0) return null;
            if (lineEnd == 0) break;   // the blank line
            var line = rest[..lineEnd];
            rest = rest[(lineEnd + 2)..];
            var colon = line.IndexOf((byte)':');
            // No name, a space before the colon (RFC 9112 §5.1 rejects it) or a folded line: Kestrel's answer, not ours.
            if (colon <= 0 || line[0] is (byte)' ' or (byte)'\t' || line[colon - 1] is (byte)' ' or (byte)'\t') return null;
            var name = line[..colon];
            var value = line[(colon + 1)..].Trim(" \t"u8);
            if (!IsToken(name) || !IsFieldValue(value)) return null;
            if (Ascii.EqualsIgnoreCase(name, "Host"u8))
            {
                if (host is not null || value.IsEmpty) return null;
                host = Encoding.ASCII.GetString(value);
            }
            else if (Ascii.EqualsIgnoreCase(name, "Sec-WebSocket-Key"u8))
            {
                if (key is not null || !IsKey(value)) return null;
                key = Encoding.ASCII.GetString(value);
            }
            else if (Ascii.EqualsIgnoreCase(name, "Sec-WebSocket-Version"u8))
            {
                if (version13 || !value.SequenceEqual("13"u8)) return null;
                version13 = true;
            }
            else if (Ascii.EqualsIgnoreCase(name, "Connection"u8)) connectionUpgrade |= HasToken(value, "upgrade"u8);
            else if (Ascii.EqualsIgnoreCase(name, "Upgrade"u8)) upgradeWebSocket |= HasToken(value, "websocket"u8);
            else if (Ascii.EqualsIgnoreCase(name, "Transfer-Encoding"u8)) return null;
            else if (Ascii.EqualsIgnoreCase(name, "Content-Length"u8) && !value.SequenceEqual("0"u8)) return null;
            if (headers is not null)
            {
                var text = Encoding.ASCII.GetString(value);
                var named = Encoding.ASCII.GetString(name);
                headers[named] = headers.TryGetValue(named, out var earlier) ? StringValues.Concat(earlier, text) : new StringValues(text);
            }
        }
        if (host is null || key is null || !version13 || !connectionUpgrade || !upgradeWebSocket) return null;
        return new UpgradeRequest(path, query, host, key, headers);
    }

    /// <summary>Sec-WebSocket-Accept for this request's key.</summary>
    public string AcceptKey()
    {
        Span<byte> text = stackalloc byte[64];
        var length = Encoding.ASCII.GetBytes(Key + AcceptGuid, text);
        Span<byte> hash = stackalloc byte[SHA1.HashSizeInBytes];
        SHA1.HashData(text[..length], hash);
        return Convert.ToBase64String(hash);
    }

    /// <summary>"GET origin-form HTTP/1.1": the absolute form and HTTP/1.0 go to Kestrel.</summary>
    private static bool TryParseRequestLine(ReadOnlySpan<byte> line, out string path, out string query)
    {
        path = query = "";
        if (!line.StartsWith(Get) || !line.EndsWith(" HTTP/1.1"u8)) return false;
        var target = line[Get.Length..^" HTTP/1.1"u8.Length];
        if (target.IsEmpty || target[0] != '/' || target.IndexOfAny(" \t"u8) >= 0) return false;
        foreach (var b in target)
            if (b is < 0x21 or > 0x7E) return false;
        var question = target.IndexOf((byte)'?');
        var rawPath = question < 0 ? target : target[..question];
        query = question < 0 ? "" : Encoding.ASCII.GetString(target[question..]);
        try
        {
            path = PathString.FromUriComponent(Encoding.ASCII.GetString(rawPath)).Value ?? "";
        }
        catch (UriFormatException)
        {
            return false;
        }
        return true;
    }

    /// <summary>A comma-separated header value (Connection, Upgrade) naming <paramref name="token"/>, in any case.</summary>
    private static bool HasToken(ReadOnlySpan<byte> value, ReadOnlySpan<byte> token)
    {
        foreach (var range in value.Split((byte)','))
            if (Ascii.EqualsIgnoreCase(value[range].Trim(" \t"u8), token)) return true;
        return false;
    }

    /// <summary>RFC 6455: the base64 of 16 bytes.</summary>
    private static bool IsKey(ReadOnlySpan<byte> key)
    {
        Span<byte> decoded = stackalloc byte[18];
        return key.Length == 24 && Base64.DecodeFromUtf8(key, decoded, out _, out var written) == OperationStatus.Done && written == 16;
    }

    private static bool IsToken(ReadOnlySpan<byte> name)
    {
        foreach (var b in name)
            if (b <= 0x20 || b >= 0x7F || "\"(),/:;<=>?@[\\]{}"u8.Contains(b)) return false;
        return true;
    }

    private static bool IsFieldValue(ReadOnlySpan<byte> value)
    {
        foreach (var b in value)
            if (b is < 0x20 and not (byte)'\t' or >= 0x7F) return false;   // Kestrel takes ASCII values only
        return true;
    }
}
