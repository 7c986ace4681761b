namespace NostrRelay.EndToEnd.Tests.Cluster;

/// <summary>Tests that run several relay processes: alone, so their timings are not at the mercy of other tests.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ClusterProcessCollection
{
    public const string Name = "cluster processes";
}
