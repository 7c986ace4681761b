using Microsoft.Extensions.Options;

namespace NostrRelay.Expiry;

/// <summary>
/// Every silo wakes the purge grain once it is active and again each interval: the grain keeps itself alive with
/// its timer, and if its silo dies the next wake-up from any silo brings it back elsewhere.
/// </summary>
internal sealed class ExpiryPurgeStarter(IGrainFactory grains, IOptions<ExpiryPurgeOptions> options, TimeProvider time)
    : ILifecycleParticipant<ISiloLifecycle>
{
    private readonly CancellationTokenSource _stopping = new();
    private Task? _loop;

    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(nameof(ExpiryPurgeStarter), ServiceLifecycleStage.Active, StartAsync, StopAsync);

    private Task StartAsync(CancellationToken cancellationToken)
    {
        _loop = WakeAsync();
        return Task.CompletedTask;
    }

    private async Task WakeAsync()
    {
        using var timer = new PeriodicTimer(options.Value.Interval, time);
        try
        {
            do
            {
                try
                {
                    await grains.GetGrain<IExpiryPurgeGrain>(0).StartAsync();
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    // The cluster is changing; the next wake-up tries again.
                }
            }
            while (await timer.WaitForNextTickAsync(_stopping.Token));
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync();
        if (_loop is not null) await _loop;
    }
}
