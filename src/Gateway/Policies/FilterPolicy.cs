using NostrRelay.Protocol;

namespace NostrRelay.Policies;

/// <summary>Decides on one filter of a REQ (and later COUNT); a rejection closes the subscription with its message.</summary>
public delegate PolicyResult FilterPolicy(Filter filter, ClientContext client);
