using Microsoft.Extensions.DependencyInjection;

namespace NostrRelay.Grains.Tests;

/// <summary>Three silos. Grains can be placed on a chosen silo by calling them through that silo's own grain factory.</summary>
public sealed class ThreeSiloClusterFixture() : RelayTestCluster(silos: 3)
{
    /// <summary>A grain factory inside silo <paramref name="index"/>: grains with local placement it activates live there.</summary>
    public IGrainFactory GrainsOn(int index) => Cluster.Silos[index].ServiceProvider.GetRequiredService<IGrainFactory>();

    /// <summary>Which silo holds the grain's activation now.</summary>
    public async Task<string?> WhereIsAsync(IAddressable grain) =>
        (await Client.GetGrain<IManagementGrain>(0).GetActivationAddress(grain))?.ToString();
}

[CollectionDefinition(Name)]
public sealed class ThreeSiloCollection : ICollectionFixture<ThreeSiloClusterFixture>
{
    public const string Name = "three silos";
}
