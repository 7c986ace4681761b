namespace NostrRelay.Silo.Hosting;

/// <summary>What one relay process runs (<c>Relay:Mode</c>).</summary>
internal enum RelayMode
{
    /// <summary>A silo with the WebSocket gateway in the same process: one box, or every node of a simple cluster.</summary>
    Combined,
    /// <summary>A silo only: grains and the store. Its HTTP port serves the health endpoints.</summary>
    Silo,
    /// <summary>The WebSocket gateway only, an Orleans client of the cluster: scale sockets apart from grains.</summary>
    Gateway,
}
