using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using NostrRelay.Hosting;
using NostrRelay.Storage;

namespace NostrRelay.Consumers;

/// <summary>
/// One named consumer. A grain timer (not interleaved, keeping the grain alive) reads what follows the
/// bookmark in batches, hands each event to the handler and saves the bookmark after each batch: at-least-once.
/// </summary>
internal sealed partial class EventConsumerGrain(
    [PersistentState("bookmark", RelayGrainStorage.Name)] IPersistentState<ConsumerBookmark> bookmark,
    IEventStore store, IServiceProvider services, ILogger<EventConsumerGrain> logger) : Grain, IEventConsumerGrain
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(250);
    private const int BatchSize = 500;
    private IEventHandler? _handler;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        var name = this.GetPrimaryKeyString();
        _handler = services.GetKeyedService<IEventHandler>(name);
        if (_handler is null) LogNoHandler(logger, name);
        else this.RegisterGrainTimer(PollAsync, new GrainTimerCreationOptions(TimeSpan.Zero, PollInterval) { KeepAlive = true });
        return Task.CompletedTask;
    }

    public Task StartAsync() => Task.CompletedTask;

    public Task<long> GetPositionAsync() => Task.FromResult(bookmark.State.Position);

    private async Task PollAsync(CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(1);   // then yield the turn; the next tick goes on
        while (!cancellationToken.IsCancellationRequested && DateTime.UtcNow < deadline)
        {
            var start = bookmark.State.Position;
            var position = start;
            var read = 0;
            try
            {
                await foreach (var stored in store.ReadAllAsync(start, BatchSize, cancellationToken))
                {
                    read++;
                    await _handler!.HandleAsync(stored, cancellationToken);
                    position = stored.Position;
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                LogHandlerFailed(logger, ex, this.GetPrimaryKeyString(), position);
            }
            if (position != start)
            {
                bookmark.State.Position = position;
                await bookmark.WriteStateAsync(cancellationToken);
            }
            if (read < BatchSize || position == start) return;
        }
    }

    [LoggerMessage(EventId = 700, Level = LogLevel.Warning, Message = "Consumer {Consumer} has no handler registered; it will not run")]
    private static partial void LogNoHandler(ILogger logger, string consumer);

    [LoggerMessage(EventId = 701, Level = LogLevel.Error, Message = "Consumer {Consumer} failed after position {Position}; retrying from there")]
    private static partial void LogHandlerFailed(ILogger logger, Exception ex, string consumer, long position);
}
