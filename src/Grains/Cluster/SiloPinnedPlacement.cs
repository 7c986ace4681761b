using Orleans.Placement;
using Orleans.Runtime;

namespace NostrRelay.Cluster;

/// <summary>
/// Places a grain on the silo its key names (<see cref="SiloAddress.ToParsableString"/>), and only there:
/// a per-silo service that other silos address by membership, with no registry to keep in sync.
/// </summary>
[Serializable, GenerateSerializer, Immutable, SuppressReferenceTracking, Alias("relay.silo-pinned-placement")]
internal sealed class SiloPinnedPlacement : PlacementStrategy
{
    public static SiloPinnedPlacement Instance { get; } = new();
}

[AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
internal sealed class SiloPinnedPlacementAttribute() : PlacementAttribute(SiloPinnedPlacement.Instance);
