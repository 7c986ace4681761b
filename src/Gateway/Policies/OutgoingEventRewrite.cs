using NostrRelay.Protocol;

namespace NostrRelay.Policies;

/// <summary>
/// Returns the event one subscriber is sent instead (or the same one). The returned event's <see cref="NostrEvent.Json"/>
/// is what that subscriber gets; every other subscriber still gets the stored bytes.
/// </summary>
public delegate NostrEvent OutgoingEventRewrite(NostrEvent evt, ClientContext client);
