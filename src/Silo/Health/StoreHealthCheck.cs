using Microsoft.Extensions.Diagnostics.HealthChecks;
using NostrRelay.Storage;

namespace NostrRelay.Silo.Health;

/// <summary>Ready only while the event store answers a read: a silo that cannot store must not take traffic.</summary>
internal sealed class StoreHealthCheck(IEventStore store) : IHealthCheck
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(3);

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(Timeout);
        try
        {
            await store.ReadStreamHeadAsync("relay-readiness-probe", timeout.Token);
            return HealthCheckResult.Healthy();
        }
        catch (Exception ex)
        {
            return HealthCheckResult.Unhealthy("the event store does not answer", ex);
        }
    }
}
