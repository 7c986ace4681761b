using NostrRelay.Protocol;

namespace NostrRelay.Policies;

/// <summary>
/// An event policy that needs services or does I/O (a plugin, a database of bans). Registered in order with
/// <see cref="EventPolicyList.Add{TPolicy}"/> or as an instance; the gateway awaits it with the event's slot held, so
/// a slow policy slows its own connection's EVENTs, never another connection's.
/// </summary>
public interface IEventPolicy
{
    ValueTask<PolicyResult> CheckAsync(NostrEvent evt, ClientContext client, CancellationToken cancellationToken);
}
