using NostrRelay.Metrics;
using NostrRelay.Management;
using System.Net;
using System.Net.WebSockets;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using NostrRelay.Framing;
using NostrRelay.Hosting;
using NostrRelay.Information;
using NostrRelay.Messages;
using NostrRelay.Policies;

namespace NostrRelay.Connections;

/// <summary>
/// The relay's one URL: a WebSocket upgrade becomes a <see cref="RelayConnection"/>; a GET asking for
/// <c>application/nostr+json</c> gets the NIP-11 document; any other GET gets a short page for people.
/// </summary>
internal sealed class RelayEndpoint(GatewayShards shards, RelayInformation information, ClientMessages messages,
    IGrainFactory grains, PolicyPipeline policies, ManagementEndpoint management, RelayMetrics metrics, LiveFigures figures,
    IOptions<RelayOptions> options, ClusterCallWatch calls, ILogger<RelayConnection> connectionLogger)
{
    private const string NostrJson = "application/nostr+json";

    /// <summary>
    /// One client's WebSocket, from its open to its end; <paramref name="stream"/> is what the socket runs on, read
    /// and dropped after a socket that failed itself. <paramref name="connectedUrl"/>: the URL the client dialled.
    /// True when it ended with a completed close handshake. <paramref name="direct"/>: the transport, when the relay
    /// writes its socket straight and frames its messages itself.
    /// </summary>
    internal async Task<bool> ServeAsync(WebSocket socket, UpgradedStream? stream, IPAddress? remoteIp, string connectedUrl, TransportStream? direct = null)
    {
        using var owned = socket;
        var shard = shards.Assign(out var connectionId);
        var client = new ClientContext(connectionId, remoteIp)
        {
            ConnectedUrl = NostrRelay.Auth.RelayUrl.Normalize(connectedUrl),
        };
        // Every line logged for this connection (its messages, EVENTs, REQs) carries its id: a JSON log can be grouped by it.
        using var scope = connectionLogger.BeginScope(new ConnectionScope(connectionId, remoteIp is null ? "unknown" : client.AddressKey));
        var relay = options.Value;
        var connection = new RelayConnection(connectionId, client, socket, shard, relay, messages, grains, calls, policies, metrics, connectionLogger, direct);
        shard.Add(connection);
        // NIP-42: the challenge goes out first, so a client may authenticate before it is asked to.
        connection.Reply(RelayFrames.Auth(client.Challenge));
        policies.Connected(client);
        try
        {
            await connection.RunAsync();
        }
        finally
        {
            policies.Disconnected(client);
        }
        // Disposing the socket resets the connection: when the socket failed it itself, its close frame may still be
        // on the way, behind what the client sent after the bad message.
        if (connection.EndedWithoutHandshake && stream is not null)
            await stream.DrainAsync();
        return !connection.EndedWithoutHandshake;
    }

    private async Task AcceptAsync(HttpContext context, IPAddress? remoteIp)
    {
        var relay = options.Value;
        var socket = await context.WebSockets.AcceptWebSocketAsync(new WebSocketAcceptContext
        {
            KeepAliveInterval = relay.PingInterval,
            KeepAliveTimeout = relay.IdleTimeout,   // no pong for this long: the peer is gone
            DangerousEnableCompression = false,
        });
        var stream = (context.Features.Get<IHttpUpgradeFeature>() as UpgradeWithReason)?.Stream;
        await ServeAsync(socket, stream, remoteIp, $"ws://{context.Request.Host}{context.Request.PathBase}{context.Request.Path}");
    }

    public async Task HandleAsync(HttpContext context)
    {
        if (context.WebSockets.IsWebSocketRequest)
        {
            if (!shards.Ready)
            {
                context.Response.StatusCode = (int)HttpStatusCode.ServiceUnavailable;
                return;
            }
            if (policies.CheckConnection(context) is { } refused)
            {
                context.Response.StatusCode = refused.Status;
                context.Response.ContentType = "text/plain; charset=utf-8";
                await context.Response.WriteAsync(refused.Message, context.RequestAborted);
                return;
            }
            var remoteIp = context.Connection.RemoteIpAddress;
            try
            {
                await AcceptAsync(context, remoteIp);
            }
            finally
            {
                policies.ConnectionEnded(remoteIp);
            }
            return;
        }

        // NIP-11: the document must be readable cross-origin.
        var headers = context.Response.Headers;
        headers.AccessControlAllowOrigin = "*";
        // "*" does not cover Authorization (Fetch): a NIP-86 admin page on another origin sends it.
        headers.AccessControlAllowHeaders = "Authorization, Content-Type, Accept, *";
        headers.AccessControlAllowMethods = "GET, POST, OPTIONS";
        if (HttpMethods.IsOptions(context.Request.Method))
        {
            context.Response.StatusCode = (int)HttpStatusCode.NoContent;
            return;
        }
        if (ManagementEndpoint.Accepts(context.Request))
        {
            await management.HandleAsync(context);
            return;
        }
        if (!HttpMethods.IsGet(context.Request.Method) && !HttpMethods.IsHead(context.Request.Method))
        {
            context.Response.StatusCode = (int)HttpStatusCode.MethodNotAllowed;
            return;
        }
        if (context.Request.Headers.Accept.ToString().Contains(NostrJson, StringComparison.OrdinalIgnoreCase))
        {
            context.Response.ContentType = NostrJson;
            await context.Response.Body.WriteAsync(information.Document, context.RequestAborted);
            return;
        }
        context.Response.ContentType = "text/html; charset=utf-8";
        var page = LandingPage.Render(information.Document, ConnectUrl(context), figures.Connections, figures.EventsStored, figures.EventsPerSecond);
        await context.Response.WriteAsync(page, context.RequestAborted);
    }

    /// <summary>The address a client should use: the first public URL configured, else this request's host as a WebSocket URL.</summary>
    private string ConnectUrl(HttpContext context)
    {
        if (options.Value.PublicUrls is { Length: > 0 } urls) return urls[0];
        var scheme = context.Request.IsHttps ? "wss" : "ws";
        return $"{scheme}://{context.Request.Host}{context.Request.PathBase}{context.Request.Path}";
    }
}
