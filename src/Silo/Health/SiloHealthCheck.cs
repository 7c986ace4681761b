using Microsoft.Extensions.Diagnostics.HealthChecks;
using Orleans.Runtime;

namespace NostrRelay.Silo.Health;

/// <summary>Ready only while this silo is an active member of the cluster (not joining, not shutting down).</summary>
internal sealed class SiloHealthCheck(IServiceProvider services) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        // Resolved per check: the membership service exists only once the silo has started.
        var membership = services.GetService<IClusterMembershipService>();
        var self = services.GetService<ILocalSiloDetails>()?.SiloAddress;
        if (membership is null || self is null) return Task.FromResult(HealthCheckResult.Unhealthy("the silo has not started"));
        var status = membership.CurrentSnapshot.GetSiloStatus(self);
        return Task.FromResult(status == SiloStatus.Active
            ? HealthCheckResult.Healthy($"silo {self} is active")
            : HealthCheckResult.Unhealthy($"silo {self} is {status}"));
    }
}
