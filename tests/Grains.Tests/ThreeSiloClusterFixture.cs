using Microsoft.Extensions.DependencyInjection;
using NostrRelay.Hosting;
using NostrRelay.Storage;
using NostrRelay.Storage.Memory;
using Orleans.TestingHost;

namespace NostrRelay.Grains.Tests;

/// <summary>
/// A real Orleans TestCluster of three silos sharing one store, as silos of a real cluster share PostgreSQL.
/// Grains can be placed on a chosen silo by calling them through that silo's own grain factory.
/// </summary>
public class ThreeSiloClusterFixture : IAsyncLifetime
{
    public InProcessTestCluster Cluster { get; private set; } = null!;
    public IEventStore Store { get; } = new MemoryEventStore();
    public IClusterClient Client => Cluster.Client;

    public async Task InitializeAsync()
    {
        var builder = new InProcessTestClusterBuilder(3);
        builder.ConfigureSilo((_, silo) =>
        {
            silo.AddRelayGrains();
            silo.Services.AddSingleton(Store);
        });
        Cluster = builder.Build();
        await Cluster.DeployAsync();
        await Cluster.WaitForLivenessToStabilizeAsync();
    }

    /// <summary>A grain factory inside silo <paramref name="index"/>: grains with local placement it activates live there.</summary>
    public IGrainFactory GrainsOn(int index) => Cluster.Silos[index].ServiceProvider.GetRequiredService<IGrainFactory>();

    public string AddressOf(int index) => Cluster.Silos[index].SiloAddress.ToString();

    /// <summary>Which silo holds the grain's activation now.</summary>
    public async Task<string?> WhereIsAsync(IAddressable grain) =>
        (await Client.GetGrain<IManagementGrain>(0).GetActivationAddress(grain))?.ToString();

    public async Task DisposeAsync()
    {
        await Cluster.StopAllSilosAsync();
        await Cluster.DisposeAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class ThreeSiloCollection : ICollectionFixture<ThreeSiloClusterFixture>
{
    public const string Name = "three silos";
}
