using Microsoft.Extensions.DependencyInjection;

namespace NostrRelay.Policies;

/// <summary>
/// The event policies an embedder adds, in the order they run: plain delegates, policy instances, and policy types
/// made from the relay's services when it starts. The first rejection wins.
/// </summary>
public sealed class EventPolicyList
{
    private readonly List<Func<IServiceProvider, IEventPolicy>> _entries = [];

    public int Count => _entries.Count;

    public void Add(EventPolicy policy)
    {
        ArgumentNullException.ThrowIfNull(policy);
        var wrapped = new DelegatePolicy(policy);
        _entries.Add(_ => wrapped);
    }

    public void Add(IEventPolicy policy)
    {
        ArgumentNullException.ThrowIfNull(policy);
        _entries.Add(_ => policy);
    }

    /// <summary>Adds a policy made once, when the relay starts, from its services (constructor injection).</summary>
    public void Add<TPolicy>() where TPolicy : class, IEventPolicy =>
        _entries.Add(services => ActivatorUtilities.GetServiceOrCreateInstance<TPolicy>(services));

    internal IEventPolicy[] Build(IServiceProvider services)
    {
        var policies = new IEventPolicy[_entries.Count];
        for (var i = 0; i < policies.Length; i++) policies[i] = _entries[i](services);
        return policies;
    }

    /// <summary>A delegate as an <see cref="IEventPolicy"/>; the pipeline calls <see cref="Policy"/> directly, without a task.</summary>
    internal sealed class DelegatePolicy(EventPolicy policy) : IEventPolicy
    {
        public EventPolicy Policy { get; } = policy;

        public ValueTask<PolicyResult> CheckAsync(Protocol.NostrEvent evt, ClientContext client, CancellationToken cancellationToken) =>
            ValueTask.FromResult(Policy(evt, client));
    }
}
