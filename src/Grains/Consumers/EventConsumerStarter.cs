namespace NostrRelay.Consumers;

/// <summary>Activates every registered consumer once the silo is active; each then polls by itself.</summary>
internal sealed class EventConsumerStarter(IGrainFactory grains, IEnumerable<EventConsumerName> consumers) : ILifecycleParticipant<ISiloLifecycle>
{
    public void Participate(ISiloLifecycle lifecycle)
    {
        lifecycle.Subscribe(nameof(EventConsumerStarter), ServiceLifecycleStage.Active, StartAsync, _ => Task.CompletedTask);
    }

    private async Task StartAsync(CancellationToken cancellationToken)
    {
        foreach (var name in consumers.Select(c => c.Name).Distinct())
            await grains.GetGrain<IEventConsumerGrain>(name).StartAsync();
    }
}
