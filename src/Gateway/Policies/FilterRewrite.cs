using NostrRelay.Protocol;

namespace NostrRelay.Policies;

/// <summary>Returns the filter to use instead (or the same one), after the filter policies accepted it.</summary>
public delegate Filter FilterRewrite(Filter filter, ClientContext client);
