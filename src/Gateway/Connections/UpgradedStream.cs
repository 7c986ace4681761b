using System.Text;
using Microsoft.AspNetCore.Http.Features;

namespace NostrRelay.Connections;

/// <summary>
/// The WebSocket upgrade, handing the socket a <see cref="UpgradedStream"/> so that a connection the socket fails on
/// its own (RFC 6455 §8.1: a text message that is not UTF-8, close 1007) ends with its close frame read by the client.
/// </summary>
internal sealed class UpgradeWithReason(IHttpUpgradeFeature inner) : IHttpUpgradeFeature
{
    public bool IsUpgradableRequest => inner.IsUpgradableRequest;

    /// <summary>The upgraded stream, once the upgrade happened.</summary>
    public UpgradedStream? Stream { get; private set; }

    public async Task<Stream> UpgradeAsync()
    {
        Stream = new UpgradedStream(await inner.UpgradeAsync());
        return Stream;
    }
}

/// <summary>
/// Passes the connection's bytes through, with two changes for a connection .NET's WebSocket fails itself. Its close
/// frame for invalid UTF-8 carries the code alone: the frame is written with a reason instead. And it ends the request
/// the moment it fails; with the rest of the client's message still unread, the reset that follows can overtake the
/// close frame, so <see cref="DrainAsync"/> reads what is left first.
/// </summary>
internal sealed class UpgradedStream(Stream inner) : Stream
{
    private static readonly TimeSpan Linger = TimeSpan.FromSeconds(1);

    /// <summary>A server's close frame, unmasked, with only the status code 1007 as its payload.</summary>
    private static ReadOnlySpan<byte> BareInvalidPayloadClose => [0x88, 0x02, 0x03, 0xEF];

    private static readonly byte[] InvalidPayloadClose = CloseFrame(1007, "invalid: a text message must be UTF-8 (NIP-01 is JSON)");

    private static byte[] CloseFrame(ushort status, string reason)
    {
        var text = Encoding.UTF8.GetBytes(reason);   // under 124 bytes: one-byte length
        var frame = new byte[4 + text.Length];
        frame[0] = 0x88;
        frame[1] = (byte)(2 + text.Length);
        frame[2] = (byte)(status >> 8);
        frame[3] = (byte)status;
        text.CopyTo(frame, 4);
        return frame;
    }

    /// <summary>Reads and drops what the client still sends, for a second at most, so closing does not reset the connection.</summary>
    public async Task DrainAsync()
    {
        (inner as TransportStream)?.BeginDrain();
        var buffer = new byte[4096];
        using var timeout = new CancellationTokenSource(Linger);
        try
        {
            while (await inner.ReadAsync(buffer, timeout.Token) > 0) { }
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or ObjectDisposedException or InvalidOperationException)
        {
        }
    }

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) =>
        inner.WriteAsync(buffer.Span.SequenceEqual(BareInvalidPayloadClose) ? InvalidPayloadClose : buffer, cancellationToken);

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer, offset, count, CancellationToken.None).GetAwaiter().GetResult();

    public override bool CanRead => inner.CanRead;
    public override bool CanSeek => false;
    public override bool CanWrite => inner.CanWrite;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush() => inner.Flush();
    public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);
    public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);
    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => inner.ReadAsync(buffer, cancellationToken);
    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => inner.ReadAsync(buffer, offset, count, cancellationToken);
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing) inner.Dispose();
        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        await inner.DisposeAsync();
        await base.DisposeAsync();
    }
}
