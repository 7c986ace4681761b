using NostrRelay.Protocol;
using NostrRelay.Streaming;
using Orleans.Streams;
using Orleans.Streams.Core;

namespace NostrRelay.Grains.Tests;

public interface IKindCountGrain : IGrainWithStringKey
{
    Task<long> GetAsync();
}

[GenerateSerializer]
public sealed class KindCount
{
    [Id(0)] public long Count { get; set; }

    [Id(1)] public long Position { get; set; }
}

/// <summary>
/// The projection example of docs/architecture.md, as written there: an implicit subscriber of the log's per-kind
/// streams, one grain per kind, counting that kind's events and resuming from the position it stored.
/// </summary>
[ImplicitStreamSubscription(EventLogStreams.KindNamespace)]
public sealed class KindCountGrain([PersistentState("count", "relay")] IPersistentState<KindCount> state)
    : Grain, IKindCountGrain, IStreamSubscriptionObserver, IAsyncObserver<NostrEvent>
{
    public Task<long> GetAsync() => Task.FromResult(state.State.Count);

    public async Task OnSubscribed(IStreamSubscriptionHandleFactory handles) =>
        await handles.Create<NostrEvent>().ResumeAsync(this, EventLogStreams.After(state.State.Position));

    public async Task OnNextAsync(NostrEvent evt, StreamSequenceToken? token)
    {
        var position = EventLogStreams.PositionOf(token!);
        if (position <= state.State.Position) return;   // at least once: a repeat after a handover
        state.State.Count++;
        state.State.Position = position;
        await state.WriteStateAsync();
    }

    public Task OnCompletedAsync() => Task.CompletedTask;

    public Task OnErrorAsync(Exception error) => Task.CompletedTask;
}
