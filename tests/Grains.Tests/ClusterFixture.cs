using Microsoft.Extensions.DependencyInjection;
using NostrRelay.Hosting;
using NostrRelay.Storage;
using NostrRelay.Storage.Memory;
using Orleans.TestingHost;

namespace NostrRelay.Grains.Tests;

/// <summary>A real Orleans TestCluster (one silo, in-process) with the relay's grains over one Memory store the tests can inspect.</summary>
public sealed class ClusterFixture : IAsyncLifetime
{
    public InProcessTestCluster Cluster { get; private set; } = null!;
    public IEventStore Store { get; } = new MemoryEventStore();
    public IClusterClient Client => Cluster.Client;

    public async Task InitializeAsync()
    {
        var builder = new InProcessTestClusterBuilder(1);
        builder.ConfigureSilo((_, silo) =>
        {
            silo.AddRelayGrains();
            silo.Services.AddSingleton(Store);
        });
        Cluster = builder.Build();
        await Cluster.DeployAsync();
    }

    public async Task DisposeAsync()
    {
        await Cluster.StopAllSilosAsync();
        await Cluster.DisposeAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class ClusterCollection : ICollectionFixture<ClusterFixture>
{
    public const string Name = "cluster";
}
