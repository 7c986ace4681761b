namespace NostrRelay.Grains.Tests;

/// <summary>One silo, shared by the tests of its collection.</summary>
public sealed class ClusterFixture() : RelayTestCluster(silos: 1);

[CollectionDefinition(Name)]
public sealed class ClusterCollection : ICollectionFixture<ClusterFixture>
{
    public const string Name = "cluster";
}
