using System.Buffers;
using System.IO.Pipelines;

namespace NostrRelay.Connections;

/// <summary>
/// A connection's transport (Kestrel's pipes) as the one stream a WebSocket reads and writes. A zero-byte read waits
/// for data without taking any: an idle connection then holds no buffer. Kestrel owns the pipes and closes them when
/// the connection's handler returns. Disposing this stream (the WebSocket does, when it aborts: a peer silent past
/// the keep-alive timeout) ends a read or a write that is waiting, as closing a socket would; it leaves the pipes
/// open, so what follows a WebSocket that failed itself can still be read and dropped.
/// </summary>
internal sealed class TransportStream(IDuplexPipe transport) : Stream
{
    private int _reading;
    private int _writing;
    private volatile bool _disposed;
    private volatile bool _draining;

    /// <summary>True when disposing it cut a write the peer was not reading: nothing more will reach it.</summary>
    public bool WriteWasCut { get; private set; }

    /// <summary>Reads after the disposal are the drain of a failed socket's leftovers, not the socket's own.</summary>
    public void BeginDrain() => _draining = true;

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var input = transport.Input;
        Interlocked.Exchange(ref _reading, 1);
        try
        {
            // The socket's own reads end with it; the drain's go on, past a cancellation meant for an earlier read.
            if (_disposed && !_draining) throw new IOException("The WebSocket was aborted.");
            while (true)
            {
                var result = await input.ReadAsync(cancellationToken);
                var data = result.Buffer;
                if (result.IsCanceled && _disposed && !_draining)
                {
                    input.AdvanceTo(data.Start);
                    throw new IOException("The WebSocket was aborted.");
                }
                if (data.IsEmpty)
                {
                    input.AdvanceTo(data.Start);
                    if (result.IsCompleted) return 0;
                    continue;   // a pending read let go: wait again
                }
                if (buffer.IsEmpty)
                {
                    input.AdvanceTo(data.Start);   // data is there; leave it for the next read
                    return 0;
                }
                var taken = (int)Math.Min(data.Length, buffer.Length);
                data.Slice(0, taken).CopyTo(buffer.Span);
                input.AdvanceTo(data.GetPosition(taken));
                return taken;
            }
        }
        finally
        {
            Volatile.Write(ref _reading, 0);
        }
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer, offset, count, CancellationToken.None).GetAwaiter().GetResult();

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        Interlocked.Exchange(ref _writing, 1);
        FlushResult flushed;
        try
        {
            if (_disposed) throw new IOException("The WebSocket was aborted.");
            flushed = await transport.Output.WriteAsync(buffer, cancellationToken);
        }
        finally
        {
            Volatile.Write(ref _writing, 0);
        }
        if (flushed.IsCompleted) throw new IOException("The connection is closed.");
        if (flushed.IsCanceled && _disposed) throw new IOException("The WebSocket was aborted.");
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer, offset, count, CancellationToken.None).GetAwaiter().GetResult();

    /// <summary>Every write is flushed as it is made.</summary>
    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public override void Flush() { }

    protected override void Dispose(bool disposing)
    {
        _disposed = true;
        Interlocked.MemoryBarrier();
        if (Volatile.Read(ref _reading) == 1) transport.Input.CancelPendingRead();
        if (Volatile.Read(ref _writing) == 1)
        {
            WriteWasCut = true;
            transport.Output.CancelPendingFlush();   // a peer that stopped reading holds a write for ever
        }
        base.Dispose(disposing);
    }

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
}
