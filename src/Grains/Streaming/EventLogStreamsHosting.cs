using Microsoft.Extensions.DependencyInjection;
using NostrRelay.Storage;
using Orleans.Hosting;
using Orleans.Streams;

namespace NostrRelay.Streaming;

/// <summary>Adds the event log's stream provider (<see cref="EventLogStreams.ProviderName"/>) to a silo or a client.</summary>
public static class EventLogStreamsHosting
{
    /// <summary>
    /// Serves the silo's <see cref="IEventStore"/> as the <see cref="EventLogStreams"/> streams. Explicit subscriptions are
    /// kept in the grain storage named <c>PubSubStore</c>, which the silo must have (durable, for subscriptions to
    /// outlive a silo); implicit subscriptions (<c>[ImplicitStreamSubscription(EventLogStreams.KindNamespace)]</c>) need none.
    /// </summary>
    public static ISiloBuilder AddEventLogStreams(this ISiloBuilder silo, Action<EventLogStreamOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(silo);
        var options = new EventLogStreamOptions();
        configure?.Invoke(options);
        if (options.PollPeriod <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(configure), "PollPeriod must be positive");
        if (options.ReplayOnStart < 0) throw new ArgumentOutOfRangeException(nameof(configure), "ReplayOnStart must not be negative");
        return silo.AddPersistentStreams(EventLogStreams.ProviderName,
            (services, name) => new EventLogAdapterFactory(name, services.GetRequiredService<IEventStore>(), options),
            stream =>
            {
                stream.ConfigurePullingAgent(agent => agent.Configure(settings => settings.GetQueueMsgsTimerPeriod = options.PollPeriod));
                stream.ConfigureStreamPubSub(StreamPubSubType.ExplicitGrainBasedAndImplicit);
            });
    }

    /// <summary>Lets a client subscribe to the <see cref="EventLogStreams"/> streams (the silos read the log).</summary>
    public static IClientBuilder AddEventLogStreams(this IClientBuilder client)
    {
        ArgumentNullException.ThrowIfNull(client);
        return client.AddPersistentStreams(EventLogStreams.ProviderName, (_, name) => new EventLogAdapterFactory(name, null, new EventLogStreamOptions()),
            stream => stream.ConfigureStreamPubSub(StreamPubSubType.ExplicitGrainBasedAndImplicit));
    }
}
