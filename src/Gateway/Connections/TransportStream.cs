using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;
using System.Net.WebSockets;

namespace NostrRelay.Connections;

/// <summary>
/// A connection's transport (Kestrel's pipes) as the one stream a WebSocket reads and writes. A zero-byte read waits
/// for data without taking any: an idle connection then holds no buffer. Kestrel owns the pipes and closes them when
/// the connection's handler returns. Disposing this stream (the WebSocket does, when it aborts: a peer silent past
/// the keep-alive timeout) ends a read or a write that is waiting, as closing a socket would; it leaves the pipes
/// open, so what follows a WebSocket that failed itself can still be read and dropped.
/// Given Kestrel's socket, non-blocking (<see cref="DirectUpgrades"/> does when nothing wraps the transport), writes go to it
/// straight, on the writer's thread: through the output pipe each frame was copied once more and sent by Kestrel's
/// own loop after a hop to another thread, which cost 13 % of the relay's CPU per live delivery. The WebSocket
/// makes one write at a time; the connection's outbound queue writes its frames beside it (<see cref="SendFramesAsync"/>),
/// several in one send, and the two take turns at a gate, so every frame goes out whole.
/// </summary>
internal sealed class TransportStream(IDuplexPipe transport, Socket? socket = null) : Stream
{
    private readonly SemaphoreSlim? _sending = socket is null ? null : new(1, 1);
    /// <summary>Set, under the gate, when the WebSocket's close frame is written: no frame of the queue's may follow it.</summary>
    private bool _closeWritten;

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

    /// <summary>True when writes go to the socket straight, and <see cref="SendFramesAsync"/> may be used.</summary>
    public bool SendsToSocket => socket is not null;

    /// <summary>
    /// Frames the relay framed itself, in one send, unless the WebSocket has written its close frame (nothing may
    /// follow it), or failed: then a <see cref="WebSocketException"/>.
    /// </summary>
    public async ValueTask SendFramesAsync(ReadOnlyMemory<byte> frames, WebSocket webSocket)
    {
        if (!_sending!.Wait(0)) await _sending.WaitAsync();
        try
        {
            // The WebSocket marks its close sent only after its write returned: the flag set under the gate is exact.
            if (_closeWritten || webSocket.State is not (WebSocketState.Open or WebSocketState.CloseReceived)) throw new WebSocketException(WebSocketError.InvalidState);
            await SendAsync(frames, CancellationToken.None);
        }
        finally
        {
            _sending.Release();
        }
    }

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (socket is null) return WriteToPipeAsync(buffer, cancellationToken);
        return _sending!.Wait(0) ? SendThenReleaseAsync(buffer, cancellationToken) : WaitThenSendAsync(buffer, cancellationToken);
    }

    private async ValueTask WaitThenSendAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken)
    {
        await _sending!.WaitAsync(cancellationToken);
        await SendThenReleaseAsync(buffer, cancellationToken);
    }

    private ValueTask SendThenReleaseAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken)
    {
        ValueTask send;
        try
        {
            // The WebSocket writes each of its frames whole, in one write: the first byte holds the opcode (8: close).
            if (!buffer.IsEmpty && (buffer.Span[0] & 0x0F) == 0x08) _closeWritten = true;
            send = SendAsync(buffer, cancellationToken);
        }
        catch
        {
            _sending!.Release();
            throw;
        }
        if (send.IsCompletedSuccessfully)
        {
            _sending!.Release();
            return default;
        }
        return ReleaseAfterAsync(send);
    }

    private async ValueTask ReleaseAfterAsync(ValueTask send)
    {
        try { await send; }
        finally { _sending!.Release(); }
    }

    private static long s_sendsThatWaited;

    /// <summary>Sends, by every connection of this process, that the socket did not take whole at once (the peer read too slowly).</summary>
    internal static long SendsThatWaited => Interlocked.Read(ref s_sendsThatWaited);

    /// <summary>One send on the socket, which completes only when every byte is taken; failures as <see cref="IOException"/>.</summary>
    private ValueTask SendAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken)
    {
        Interlocked.Exchange(ref _writing, 1);
        ValueTask<int> send;
        try
        {
            if (_disposed) throw new IOException("The WebSocket was aborted.");
            // What the socket's buffer takes at once is sent by a plain non-blocking send: the asynchronous send's
            // machinery would only find that it completed. Only the rest, for a peer that reads slowly, waits.
            var taken = socket!.Send(buffer.Span, SocketFlags.None, out var error);
            if (error is not (SocketError.Success or SocketError.WouldBlock))
                throw new IOException("The connection is closed: " + error, new SocketException((int)error));
            if (taken == buffer.Length)
            {
                Volatile.Write(ref _writing, 0);
                return default;
            }
            Interlocked.Increment(ref s_sendsThatWaited);
            send = socket.SendAsync(buffer[taken..], SocketFlags.None, cancellationToken);
        }
        catch (Exception ex)
        {
            Volatile.Write(ref _writing, 0);
            return ValueTask.FromException(ex is ObjectDisposedException ? new IOException("The connection is closed.", ex) : ex);
        }
        if (send.IsCompletedSuccessfully)
        {
            Volatile.Write(ref _writing, 0);
            return default;
        }
        return AwaitSendAsync(send);
    }

    /// <summary>A send the socket could not take at once (the peer reads slowly): it completes when every byte is taken.</summary>
    private async ValueTask AwaitSendAsync(ValueTask<int> send)
    {
        try
        {
            await send;
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            throw new IOException(_disposed ? "The WebSocket was aborted." : "The connection is closed: " + ex.Message, ex);
        }
        finally
        {
            Volatile.Write(ref _writing, 0);
        }
    }

    private async ValueTask WriteToPipeAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken)
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
            // A peer that stopped reading holds a write for ever.
            if (socket is null) transport.Output.CancelPendingFlush();
            else
            {
                try { socket.Shutdown(SocketShutdown.Both); }
                catch (Exception ex) when (ex is SocketException or ObjectDisposedException) { }   // closed already
            }
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
