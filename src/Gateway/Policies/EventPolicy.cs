using NostrRelay.Protocol;

namespace NostrRelay.Policies;

/// <summary>Decides on a client's EVENT after its id and signature checked out, before any grain call.</summary>
public delegate PolicyResult EventPolicy(NostrEvent evt, ClientContext client);
