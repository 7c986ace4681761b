using NostrRelay.Protocol;

namespace NostrRelay.Policies;

/// <summary>
/// Returns true to keep this event from one subscriber (stored or live), for example a private event shown only to
/// the pubkeys it names. Runs for every event sent to every subscription: keep it cheap.
/// </summary>
public delegate bool DeliveryPolicy(NostrEvent evt, ClientContext client);
