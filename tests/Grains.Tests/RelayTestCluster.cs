using Microsoft.Extensions.DependencyInjection;
using NostrRelay.Hosting;
using NostrRelay.Storage;
using NostrRelay.Storage.Memory;
using Orleans.TestingHost;

namespace NostrRelay.Grains.Tests;

/// <summary>
/// A real Orleans TestCluster (in-process silos) with the relay's grains over one Memory store the tests can
/// inspect, shared by every silo as the silos of a real cluster share PostgreSQL.
/// </summary>
public abstract class RelayTestCluster(short silos, IEventStore? store = null) : IAsyncLifetime
{
    public InProcessTestCluster Cluster { get; private set; } = null!;
    public IEventStore Store { get; } = store ?? new MemoryEventStore();
    public IClusterClient Client => Cluster.Client;

    public async Task InitializeAsync()
    {
        var builder = new InProcessTestClusterBuilder(silos);
        builder.ConfigureSilo((_, silo) =>
        {
            silo.AddRelayGrains();
            silo.Services.AddSingleton(Store);
            ConfigureSilo(silo);
        });
        builder.ConfigureClient(ConfigureClient);
        Cluster = builder.Build();
        await Cluster.DeployAsync();
        if (silos > 1) await Cluster.WaitForLivenessToStabilizeAsync();
    }

    /// <summary>What a test's own cluster adds to every silo.</summary>
    protected virtual void ConfigureSilo(ISiloBuilder silo)
    {
    }

    /// <summary>What a test's own cluster adds to the client.</summary>
    protected virtual void ConfigureClient(IClientBuilder client)
    {
    }

    public virtual async Task DisposeAsync()
    {
        await Cluster.StopAllSilosAsync();
        await Cluster.DisposeAsync();
    }
}
