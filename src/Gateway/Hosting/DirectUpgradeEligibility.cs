using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Cors.Infrastructure;
using Microsoft.AspNetCore.HostFiltering;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace NostrRelay.Hosting;

/// <summary>
/// Whether WebSocket handshakes may be answered ahead of the request pipeline without skipping a gate the host put
/// in it. An embedder's connection hooks read the request's <c>HttpContext</c> (its user, its features, what their
/// middleware left there); authorization, host, CORS or rate-limiting rules on the relay's endpoint, a fallback
/// authorization policy or a global rate limiter, allowed WebSocket origins, a host filter and Kestrel's limit on
/// upgraded connections are all enforced in the pipeline.
/// With any of them the relay upgrades through the pipeline, as it always did.
/// </summary>
internal static class DirectUpgradeEligibility
{
    /// <summary>Marks the endpoint <c>MapNostrRelay</c> maps, so its metadata can be found again.</summary>
    public sealed class RelayRoute
    {
        public static readonly RelayRoute Instance = new();
    }

    /// <summary>Why handshakes must go through the pipeline, or null when nothing would be skipped.</summary>
    public static string? WhyNot(IServiceProvider services, RelayOptions relay, KestrelServerLimits limits)
    {
        if (relay.RejectConnection.Count > 0) return "Relay:RejectConnection hooks read the request's HttpContext";
        if (limits.MaxConcurrentUpgradedConnections is not null) return "Kestrel:Limits:MaxConcurrentUpgradedConnections is set";
        if (services.GetService<IOptions<WebSocketOptions>>()?.Value.AllowedOrigins is { Count: > 0 }) return "WebSocketOptions.AllowedOrigins is set";
        if (services.GetService<IOptions<HostFilteringOptions>>()?.Value.AllowedHosts is { } hosts && hosts.Any(host => host != "*"))
            return "AllowedHosts filters hosts";
        if (services.GetService<IOptions<AuthorizationOptions>>()?.Value.FallbackPolicy is not null) return "an authorization fallback policy is set";
        if (services.GetService<IOptions<RateLimiterOptions>>()?.Value.GlobalLimiter is not null) return "a global rate limiter is set";
        if (services.GetService<EndpointDataSource>() is { } endpoints)
        {
            foreach (var endpoint in endpoints.Endpoints)
            {
                var metadata = endpoint.Metadata;
                if (metadata.GetMetadata<RelayRoute>() is null) continue;
                if (metadata.GetMetadata<IAuthorizeData>() is not null || metadata.GetMetadata<IAuthorizationRequirementData>() is not null)
                    return "the relay's endpoint requires authorization";
                if (metadata.GetMetadata<IHostMetadata>() is not null) return "the relay's endpoint requires a host";
                if (metadata.GetMetadata<ICorsMetadata>() is not null) return "the relay's endpoint has a CORS policy";
                if (metadata.GetMetadata<EnableRateLimitingAttribute>() is not null) return "the relay's endpoint has a rate limiter";
            }
        }
        return null;
    }
}
