using Microsoft.Extensions.Hosting;
using NostrRelay.Storage;

namespace NostrRelay.Hosting;

/// <summary>
/// Opens the store (creating or migrating its schema) before the silo takes its first call, and flushes
/// and closes it after the silo stopped: registered before UseOrleans, it starts first and stops last.
/// </summary>
internal sealed class EventStoreLifetime(IEventStore store) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => store.InitAsync(cancellationToken);
    public async Task StopAsync(CancellationToken cancellationToken) => await store.DisposeAsync();
}
