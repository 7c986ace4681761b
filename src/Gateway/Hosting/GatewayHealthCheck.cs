using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using NostrRelay.Connections;

namespace NostrRelay.Hosting;

/// <summary>
/// Ready once the gateway's shards are attached and while they keep reaching their subscription grains:
/// a gateway cut off from the cluster stops getting new clients until it is back.
/// </summary>
internal sealed class GatewayHealthCheck(GatewayShards shards, IOptions<RelayOptions> options) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (!shards.Ready) return Task.FromResult(HealthCheckResult.Unhealthy("the gateway is starting or draining"));
        var silence = DateTimeOffset.UtcNow - shards.LastCheckIn;
        var allowed = TimeSpan.FromTicks(Math.Max(TimeSpan.FromSeconds(5).Ticks, options.Value.ShardCheckInterval.Ticks * 5));
        return Task.FromResult(silence <= allowed
            ? HealthCheckResult.Healthy()
            : HealthCheckResult.Unhealthy($"the cluster has not answered for {silence.TotalSeconds:0} s"));
    }
}
