using System.Buffers;
using System.Text;
using NostrRelay.Connections;

namespace NostrRelay.Unit.Tests.Gateway;

/// <summary>
/// The WebSocket handshake the gateway answers on the raw connection: a plain one parses, and anything it is not
/// sure of gives null, which hands the connection to Kestrel unread.
/// </summary>
public sealed class UpgradeRequestTests
{
    private const string Plain =
        "GET / HTTP/1.1\r\nHost: relay.example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

    private static UpgradeRequest? Parse(string head, bool keepHeaders = false) => UpgradeRequest.Parse(Encoding.Latin1.GetBytes(head), keepHeaders);

    [Fact]
    public void the_accept_key_is_the_one_RFC_6455_gives_for_its_sample_key()
    {
        var request = Parse(Plain);

        Assert.NotNull(request);
        Assert.Equal("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", request.AcceptKey());
        Assert.Equal("/", request.Path);
        Assert.Equal("", request.Query);
        Assert.Equal("relay.example.com", request.Host);
        Assert.Null(request.Headers);
    }

    [Fact]
    public void browsers_handshakes_parse_whatever_the_case_and_the_other_connection_tokens()
    {
        // Firefox sends "keep-alive, Upgrade"; header names and token values may come in any case.
        var request = Parse(
            "GET /nostr%20relay?x=1 HTTP/1.1\r\nhost: 127.0.0.1:7777\r\nuser-agent: test\r\nupgrade: WebSocket\r\n" +
            "connection: keep-alive, Upgrade\r\nsec-websocket-key:dGhlIHNhbXBsZSBub25jZQ==\r\nsec-websocket-version: 13\r\n" +
            "Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n");

        Assert.NotNull(request);
        Assert.Equal("/nostr relay", request.Path);
        Assert.Equal("?x=1", request.Query);
        Assert.Equal("127.0.0.1:7777", request.Host);
    }

    [Fact]
    public void every_header_is_kept_for_connection_hooks_when_asked_for()
    {
        var request = Parse(Plain.Replace("\r\n\r\n", "\r\nOrigin: https://app.example\r\nX-Tag: a\r\nX-Tag: b\r\n\r\n"), keepHeaders: true);

        Assert.NotNull(request?.Headers);
        Assert.Equal("https://app.example", request.Headers["Origin"]);
        Assert.Equal(new[] { "a", "b" }, request.Headers["x-tag"].ToArray()!);
        Assert.Equal("relay.example.com", request.Headers.Host);
    }

    [Theory]
    [InlineData("POST / HTTP/1.1", "another method")]
    [InlineData("GET / HTTP/1.0", "HTTP/1.0")]
    [InlineData("GET http://relay.example.com/ HTTP/1.1", "the absolute form")]
    [InlineData("GET / HTTP/1.1\r\nContent-Length: 5", "a body")]
    [InlineData("GET / HTTP/1.1\r\nTransfer-Encoding: chunked", "a chunked body")]
    [InlineData("GET / HTTP/1.1\r\nHost: second.example.com", "two hosts")]
    [InlineData("GET / HTTP/1.1\r\nX-Folded: a\r\n  b", "a folded line")]
    [InlineData("GET / HTTP/1.1\r\nX-Space : a", "a space before the colon")]
    [InlineData("GET / HTTP/1.1\r\nX-Latin: caf\u00e9", "a value that is not ASCII")]
    public void a_handshake_with_anything_unusual_is_left_to_Kestrel(string firstLines, string because)
    {
        var head = firstLines + Plain["GET / HTTP/1.1".Length..];

        Assert.True(Parse(head) is null, because);
    }

    [Theory]
    [InlineData("Sec-WebSocket-Version: 13", "Sec-WebSocket-Version: 8")]
    [InlineData("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n", "Sec-WebSocket-Key: c2hvcnQ=\r\n")]
    [InlineData("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n", "")]
    [InlineData("Upgrade: websocket\r\n", "Upgrade: h2c\r\n")]
    [InlineData("Connection: Upgrade\r\n", "Connection: keep-alive\r\n")]
    [InlineData("Host: relay.example.com\r\n", "")]
    public void a_request_that_is_not_a_version_13_WebSocket_handshake_is_left_to_Kestrel(string part, string replacement)
    {
        Assert.Null(Parse(Plain.Replace(part, replacement)));
    }

    [Fact]
    public void the_end_of_the_head_is_found_across_segments_and_not_before_it_has_arrived()
    {
        var bytes = Encoding.ASCII.GetBytes(Plain + "\x81\x05hello");
        var split = bytes.Length - 9;   // inside the blank line
        var first = new Segment(bytes.AsMemory(0, split));
        var last = first.Append(bytes.AsMemory(split));
        var received = new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);

        Assert.Null(UpgradeRequest.FindEnd(received.Slice(0, split)));
        var end = UpgradeRequest.FindEnd(received);
        Assert.NotNull(end);
        Assert.Equal(Plain.Length, received.Slice(0, end.Value).Length);
    }

    [Theory]
    [InlineData("G", true)]
    [InlineData("GE", true)]
    [InlineData("GET /", true)]
    [InlineData("\u0016\u0003\u0001", false)]   // a TLS hello
    [InlineData("PRI * HTTP/2.0", false)]
    [InlineData("POST", false)]
    public void a_connection_is_read_on_only_while_its_first_bytes_may_be_a_GET(string start, bool mayBe)
    {
        Assert.Equal(mayBe, UpgradeRequest.MayBeGet(new ReadOnlySequence<byte>(Encoding.Latin1.GetBytes(start))));
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory) => Memory = memory;

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory) { RunningIndex = RunningIndex + Memory.Length };
            Next = next;
            return next;
        }
    }
}
