using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Core.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using NostrRelay.Hosting;
using NostrRelay.Policies;

namespace NostrRelay.Connections;

/// <summary>
/// A Kestrel connection handler that answers a WebSocket handshake for the relay's path itself, on the raw
/// connection, before ASP.NET Core's HTTP/1.1 machinery exists for it. A WebSocket upgraded through that machinery
/// keeps its request alive for as long as it is open (its connection object, header collections, context and pipes,
/// about 6 KB); one upgraded here keeps only the transport. Everything else (NIP-11, the landing page, health, an
/// upgrade for another path or with a body or an odd header) is handed to Kestrel untouched, and so is a
/// connection whose first bytes are not a GET (TLS, HTTP/2).
/// </summary>
internal sealed partial class DirectUpgrades(RelayEndpoint endpoint, GatewayShards shards, PolicyPipeline policies,
    IOptions<RelayOptions> options, IConfiguration configuration, IHostApplicationLifetime lifetime, IServiceProvider services, ILoggerFactory loggers)
{
    private readonly ILogger _logger = loggers.CreateLogger<DirectUpgrades>();
    private readonly Lock _deciding = new();
    private volatile bool _decided;
    private bool _enabled;
    private ForwardedHeadersMiddleware? _forwarded;
    private TimeSpan _firstByteTimeout;
    private TimeSpan _headTimeout;

    private long _answered;

    /// <summary>Handshakes answered here since the start (the rest went through the pipeline).</summary>
    public long Answered => Interlocked.Read(ref _answered);

    private long _writtenStraight;

    /// <summary>Of those, the WebSockets written to Kestrel's socket straight (the rest write its output pipe: a wrapped transport).</summary>
    public long WrittenStraight => Interlocked.Read(ref _writtenStraight);

    /// <summary>The path the relay was mapped to, once <c>MapNostrRelay</c> ran with this on; until then every connection goes to Kestrel.</summary>
    public string? RelayPath { get; set; }

    public async Task OnConnectionAsync(ConnectionContext connection, ConnectionDelegate next, KestrelServerLimits limits)
    {
        if (RelayPath is not { } relayPath || !Enabled(limits))
        {
            await next(connection);
            return;
        }
        var (request, closed) = await ReadHandshakeAsync(connection, relayPath);
        if (closed) return;   // Kestrel closes the connection when this returns
        if (request is null)
        {
            await next(connection);
            return;
        }
        // Nothing of the handshake is kept past this call: the open WebSocket holds the transport and little else.
        var accepted = await AcceptAsync(connection, request);
        if (accepted is not { } open) return;
        var closedCleanly = false;
        try
        {
            closedCleanly = await endpoint.ServeAsync(open.Socket, open.Stream, open.RemoteIp, open.ConnectedUrl, open.Transport.SendsToSocket ? open.Transport : null);
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or ConnectionAbortedException)
        {
            LogTransportLost(_logger, ex.Message);
        }
        finally
        {
            policies.ConnectionEnded(open.RemoteIp);
            // A peer that stopped reading leaves bytes Kestrel would wait to send for ever: cut it, at once when a
            // write to it was cut, else after a grace in which a close frame still queued (1007) can reach it.
            if (open.Transport.WriteWasCut) connection.Abort();
            else if (!closedCleanly) _ = AbortLaterAsync(connection);
        }
    }

    private static readonly TimeSpan CloseGrace = TimeSpan.FromSeconds(5);

    private static async Task AbortLaterAsync(ConnectionContext connection)
    {
        await Task.Delay(CloseGrace);
        try
        {
            connection.Abort();   // a no-op for a connection Kestrel has closed since
        }
        catch (ObjectDisposedException)
        {
            // Kestrel disposed it since: already closed.
        }
    }

    /// <summary>Decided once, at the first connection, when the host's pipeline and endpoints are all built.</summary>
    private bool Enabled(KestrelServerLimits limits)
    {
        if (_decided) return _enabled;
        lock (_deciding)
        {
            if (_decided) return _enabled;
            var relay = options.Value;
            string? reason;
            try
            {
                reason = DirectUpgradeEligibility.WhyNot(services, relay, limits);
            }
            catch (Exception ex)
            {
                reason = "the host's pipeline could not be inspected: " + ex.Message;
            }
            if (reason is not null) LogThroughPipeline(_logger, reason);
            else
            {
                _enabled = true;
                _firstByteTimeout = Bounded(limits.KeepAliveTimeout);
                _headTimeout = Bounded(limits.RequestHeadersTimeout);
                // The forwarded-headers middleware of Relay:TrustedProxies, else ASP.NET's own when the host turned it
                // on (ASPNETCORE_FORWARDEDHEADERS_ENABLED: its options, configured by ASP.NET, trust every proxy).
                IOptions<ForwardedHeadersOptions>? forwarded = relay.TrustedProxies is { Length: > 0 } proxies
                    ? Options.Create(RelayGatewayExtensions.ForwardedFrom(proxies))
                    : configuration.GetValue("FORWARDEDHEADERS_ENABLED", false) ? services.GetRequiredService<IOptions<ForwardedHeadersOptions>>() : null;
                if (forwarded is not null) _forwarded = new ForwardedHeadersMiddleware(_ => Task.CompletedTask, loggers, forwarded);
            }
            _decided = true;
            return _enabled;
        }
    }

    /// <summary>Kestrel keeps "no timeout" as TimeSpan.MaxValue, which no timer takes.</summary>
    private static TimeSpan Bounded(TimeSpan timeout) =>
        timeout <= TimeSpan.Zero || timeout.TotalMilliseconds >= int.MaxValue ? Timeout.InfiniteTimeSpan : timeout;

    /// <summary>
    /// The handshake for the relay's path, taken off the transport; or null, with nothing taken, for anything else.
    /// Closed: the client left, or stayed silent past the timeouts, before a request.
    /// </summary>
    private async Task<(UpgradeRequest? Request, bool Closed)> ReadHandshakeAsync(ConnectionContext connection, string relayPath)
    {
        var input = connection.Transport.Input;
        // Closed at Kestrel's keep-alive timeout if silent; from the first byte, the head has Kestrel's request-headers
        // timeout, once (a byte now and then does not restart it); a stopping server closes it at once. Not the
        // connection's own tokens: Kestrel makes them on first use, and they would stay for the WebSocket's life.
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(lifetime.ApplicationStopping);
        timeout.CancelAfter(_firstByteTimeout);
        SequencePosition? examined = null;   // where the last read's data ended: handing over must not go back before it
        while (true)
        {
            ReadResult result;
            try
            {
                result = await input.ReadAsync(timeout.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or IOException or ConnectionAbortedException)
            {
                return (null, true);   // silent, too slow, reset or stopping: closed, as Kestrel would
            }
            var received = result.Buffer;
            if (received.IsEmpty && result.IsCompleted)
            {
                input.AdvanceTo(received.Start);
                return (null, true);
            }
            // Not a GET, or lines ended by a bare LF (which Kestrel accepts and this parser does not): Kestrel's.
            if (!UpgradeRequest.MayBeGet(received) || UpgradeRequest.HasBareLineFeed(received)) return HandOver(input, received, examined);
            if (UpgradeRequest.FindEnd(received) is { } end)
            {
                var head = received.Slice(0, end);
                var request = head.Length <= UpgradeRequest.MaxLength ? Parse(head) : null;
                if (request is null || !IsRelayPath(request.Path, relayPath)) return HandOver(input, received, examined);
                input.AdvanceTo(end);
                return (request, false);
            }
            if (received.Length >= UpgradeRequest.MaxLength || result.IsCompleted) return HandOver(input, received, examined);
            input.AdvanceTo(received.Start, received.End);   // all of it seen: wake on more
            if (examined is null) timeout.CancelAfter(_headTimeout);
            examined = received.End;
        }
    }

    /// <summary>
    /// Leaves everything received for Kestrel, unconsumed. What a previous read had examined stays examined (a pipe
    /// takes no step back); the latest read brought more, or the client finished sending, so Kestrel's first read
    /// returns at once.
    /// </summary>
    private static (UpgradeRequest?, bool) HandOver(PipeReader input, ReadOnlySequence<byte> received, SequencePosition? examined)
    {
        input.AdvanceTo(received.Start, examined ?? received.Start);
        return (null, false);
    }

    private UpgradeRequest? Parse(ReadOnlySequence<byte> head)
    {
        var keepHeaders = _forwarded is not null;
        if (head.IsSingleSegment) return UpgradeRequest.Parse(head.FirstSpan, keepHeaders);
        var copy = ArrayPool<byte>.Shared.Rent((int)head.Length);
        try
        {
            head.CopyTo(copy);
            return UpgradeRequest.Parse(copy.AsSpan(0, (int)head.Length), keepHeaders);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(copy);
        }
    }

    /// <summary>As endpoint routing matches the relay's route: in any case, with or without a trailing slash.</summary>
    private static bool IsRelayPath(string path, string relayPath) =>
        path.Equals(relayPath, StringComparison.OrdinalIgnoreCase)
        || (relayPath.Length > 1 && path.Length == relayPath.Length + 1 && path[^1] == '/' && path.StartsWith(relayPath, StringComparison.OrdinalIgnoreCase));

    private readonly record struct OpenSocket(WebSocket Socket, UpgradedStream Stream, TransportStream Transport, IPAddress? RemoteIp, string ConnectedUrl);

    /// <summary>The checks the pipeline's endpoint makes, then the 101 and the WebSocket; null when refused (answered) or gone.</summary>
    private async Task<OpenSocket?> AcceptAsync(ConnectionContext connection, UpgradeRequest request)
    {
        var output = connection.Transport.Output;
        if (!shards.Ready)
        {
            await RespondAsync(output, (int)HttpStatusCode.ServiceUnavailable, null);
            return null;
        }
        // The forwarded-headers middleware reads an HttpContext: it gets one made from the handshake, for the moment
        // it decides, dropped before the WebSocket opens.
        IPAddress? remoteIp;
        if (_forwarded is not null)
        {
            var http = RequestContext(connection, request);
            _forwarded.ApplyForwarders(http);
            remoteIp = http.Connection.RemoteIpAddress;
        }
        else remoteIp = (connection.RemoteEndPoint as IPEndPoint)?.Address;
        if (policies.CheckConnection(remoteIp, null) is { } refused)
        {
            await RespondAsync(output, refused.Status, refused.Message);
            return null;
        }
        try
        {
            // Once one write goes to the socket straight, all of them must: the 101 must not wait in the pipe behind.
            var direct = OwnSocket(connection);
            var switching = SwitchingProtocols(request.AcceptKey());
            if (direct is not null) await direct.SendAsync(switching, SocketFlags.None);
            else
            {
                var flushed = await output.WriteAsync(switching);
                if (flushed.IsCompleted || flushed.IsCanceled) throw new ConnectionAbortedException();
            }
            // As Kestrel does for an upgraded request: an open WebSocket does not count toward MaxConcurrentConnections,
            // so the health endpoints and NIP-11 stay reachable however many clients are connected.
            connection.Features.Get<IDecrementConcurrentConnectionCountFeature>()?.ReleaseConnection();
            Interlocked.Increment(ref _answered);
            if (direct is not null) Interlocked.Increment(ref _writtenStraight);
            var transport = new TransportStream(connection.Transport, direct);
            var stream = new UpgradedStream(transport);
            var relay = options.Value;
            var socket = WebSocket.CreateFromStream(stream, new WebSocketCreationOptions
            {
                IsServer = true,
                KeepAliveInterval = relay.PingInterval,
                KeepAliveTimeout = relay.IdleTimeout,   // no pong for this long: the peer is gone
            });
            return new OpenSocket(socket, stream, transport, remoteIp, $"ws://{request.Host}{request.Path}");
        }
        catch (Exception ex)
        {
            policies.ConnectionEnded(remoteIp);
            if (ex is not (IOException or OperationCanceledException or ConnectionAbortedException or SocketException or ObjectDisposedException)) throw;
            LogTransportLost(_logger, ex.Message);
            return null;
        }
    }

    private static readonly System.Reflection.Assembly KestrelSockets = typeof(SocketTransportOptions).Assembly;

    /// <summary>
    /// Kestrel's socket, when the connection's transport is still the one Kestrel's socket transport made; null when
    /// middleware of an embedder's own wraps it (its writes must go through that wrapper) or another transport runs.
    /// </summary>
    private static Socket? OwnSocket(ConnectionContext connection)
    {
        if (connection.Transport.GetType().Assembly != KestrelSockets || connection.Features.Get<IConnectionSocketFeature>()?.Socket is not { } socket) return null;
        // A send the peer cannot take yet returns at once rather than blocking the sender's thread. Kestrel only
        // sends and receives asynchronously, which the blocking mode does not touch.
        socket.Blocking = false;
        return socket;
    }

    private DefaultHttpContext RequestContext(ConnectionContext connection, UpgradeRequest request)
    {
        var http = new DefaultHttpContext();
        var req = http.Request;
        req.Method = HttpMethods.Get;
        req.Scheme = "http";
        req.Protocol = "HTTP/1.1";
        req.Path = request.Path;
        req.QueryString = new QueryString(request.Query);
        foreach (var (name, value) in request.Headers!) req.Headers[name] = value;   // parsed whole when forwarding
        var remote = connection.RemoteEndPoint as IPEndPoint;
        var local = connection.LocalEndPoint as IPEndPoint;
        http.Connection.Id = connection.ConnectionId;
        http.Connection.RemoteIpAddress = remote?.Address;
        http.Connection.RemotePort = remote?.Port ?? 0;
        http.Connection.LocalIpAddress = local?.Address;
        http.Connection.LocalPort = local?.Port ?? 0;
        return http;
    }

    private static byte[] SwitchingProtocols(string acceptKey) => Encoding.ASCII.GetBytes(
        "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: " + acceptKey + "\r\n\r\n");

    /// <summary>A refusal, as the pipeline's endpoint would write it, and the connection closed after it.</summary>
    private static async Task RespondAsync(PipeWriter output, int status, string? message)
    {
        var body = message is null ? [] : Encoding.UTF8.GetBytes(message);
        var head = new StringBuilder()
            .Append("HTTP/1.1 ").Append(status).Append(' ').Append(ReasonPhrases.GetReasonPhrase(status)).Append("\r\n")
            .Append("Date: ").Append(DateTimeOffset.UtcNow.ToString("r")).Append("\r\n")
            .Append("Connection: close\r\n");
        if (message is not null) head.Append("Content-Type: text/plain; charset=utf-8\r\n");
        head.Append("Content-Length: ").Append(body.Length).Append("\r\n\r\n");
        try
        {
            await output.WriteAsync(Encoding.ASCII.GetBytes(head.ToString()));
            if (body.Length > 0) await output.WriteAsync(body);
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException)
        {
            // The client left before its answer: nothing to tell it.
        }
    }

    [LoggerMessage(EventId = 611, Level = LogLevel.Information, Message = "WebSocket upgrades go through the request pipeline: {Reason}")]
    private static partial void LogThroughPipeline(ILogger logger, string reason);

    [LoggerMessage(EventId = 610, Level = LogLevel.Debug, Message = "A WebSocket connection's transport ended under it: {Reason}")]
    private static partial void LogTransportLost(ILogger logger, string reason);
}
