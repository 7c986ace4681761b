using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using NostrRelay.Consumers;
using NostrRelay.Storage;

namespace NostrRelay.Hosting;

/// <summary>
/// Named consumers of the event log. A projection in a few lines:
/// <code>
/// services.AddEventConsumer("follower-count", (stored, ct) =>
/// {
///     if (stored.Event.Kind == EventKind.FollowList) followers.Apply(stored.Event);   // idempotent by event id
///     return Task.CompletedTask;
/// });
/// </code>
/// Each consumer resumes from its bookmark (kept in the "relay" grain storage) after a restart.
/// </summary>
public static class EventConsumerExtensions
{
    public static IServiceCollection AddEventConsumer<THandler>(this IServiceCollection services, string name)
        where THandler : class, IEventHandler
    {
        services.AddKeyedSingleton<IEventHandler, THandler>(name);
        return services.AddConsumerName(name);
    }

    public static IServiceCollection AddEventConsumer(this IServiceCollection services, string name, Func<StoredEvent, CancellationToken, Task> handler)
    {
        services.AddKeyedSingleton<IEventHandler>(name, new DelegateEventHandler(handler));
        return services.AddConsumerName(name);
    }

    private static IServiceCollection AddConsumerName(this IServiceCollection services, string name)
    {
        services.AddSingleton(new EventConsumerName(name));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<ILifecycleParticipant<ISiloLifecycle>, EventConsumerStarter>());
        return services;
    }
}
