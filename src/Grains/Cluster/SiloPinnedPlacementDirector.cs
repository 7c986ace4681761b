using Orleans.Runtime;
using Orleans.Runtime.Placement;

namespace NostrRelay.Cluster;

/// <summary>Activates a silo-pinned grain on its silo; refuses when that silo is not in the cluster (any more).</summary>
internal sealed class SiloPinnedPlacementDirector : IPlacementDirector
{
    public Task<SiloAddress> OnAddActivation(PlacementStrategy strategy, PlacementTarget target, IPlacementContext context)
    {
        var key = target.GrainIdentity.Key.ToString();
        var silo = SiloAddress.FromParsableString(key);
        foreach (var candidate in context.GetCompatibleSilos(target))
            if (candidate.Equals(silo)) return Task.FromResult(silo);
        // A dead silo's inbox must not come back elsewhere: events for it have nobody to reach there.
        throw new OrleansException($"Silo {key} is not an active member of the cluster");
    }
}
