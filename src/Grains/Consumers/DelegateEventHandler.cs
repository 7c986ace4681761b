using NostrRelay.Storage;

namespace NostrRelay.Consumers;

internal sealed class DelegateEventHandler(Func<StoredEvent, CancellationToken, Task> handler) : IEventHandler
{
    public Task HandleAsync(StoredEvent stored, CancellationToken cancellationToken) => handler(stored, cancellationToken);
}
