namespace NostrRelay.Connections;

/// <summary>A gateway-only process lost a gateway connection twice while one call was out (<see cref="ClusterCallWatch"/>).</summary>
internal sealed class ClusterConnectionLostException() : Exception("a gateway connection was lost twice while this call was out");
