using System.Diagnostics;
using Microsoft.Extensions.Logging;
using NostrRelay.Framing;
using NostrRelay.Metrics;
using NostrRelay.Grains;
using NostrRelay.Policies;
using NostrRelay.Protocol;

namespace NostrRelay.Connections;

/// <summary>
/// One connection's EVENTs between check and OK. A bounded number are in flight at once (reading the socket pauses
/// beyond it); each is sent to its author's grain without waiting for the others, except that an event waits for the
/// previous one of the same author from this connection, so each author grain sees one connection's events in
/// arrival order (Orleans does not order concurrent calls).
/// </summary>
internal sealed partial class EventsInFlight(IGrainFactory grains, int maxInFlight, Action<OutboundFrame> reply,
    PolicyPipeline policies, ClientContext client, RelayMetrics metrics, ILogger logger)
{
    private readonly SemaphoreSlim _slots = new(maxInFlight, maxInFlight);
    private readonly Dictionary<string, Task> _authorTails = new(StringComparer.Ordinal);

    /// <summary>
    /// Returns once the event is in flight (at once, unless the bound is reached); its OK is sent later, after
    /// <paramref name="verdict"/> (the policies still deciding on it) accepts and the store commits.
    /// </summary>
    public async ValueTask SubmitAsync(NostrEvent evt, ValueTask<PolicyResult> verdict)
    {
        var started = Stopwatch.GetTimestamp();
        await _slots.WaitAsync();
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Task? previous;
        lock (_authorTails)
        {
            _authorTails.TryGetValue(evt.Pubkey, out previous);
            _authorTails[evt.Pubkey] = done.Task;
        }
        _ = AppendAsync(evt, verdict, previous, done, started);
    }

    /// <summary>Waits, at most <paramref name="timeout"/>, until every event in flight has its OK.</summary>
    public async Task DrainAsync(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (_slots.CurrentCount < maxInFlight && DateTime.UtcNow < deadline)
            await Task.Delay(10);
    }

    private async Task AppendAsync(NostrEvent evt, ValueTask<PolicyResult> verdict, Task? previous, TaskCompletionSource done, long started)
    {
        try
        {
            var decided = await verdict;
            if (previous is not null) await previous;
            if (decided.IsRejected)
            {
                // A shadow rejection is told OK true, as if stored.
                Answer(evt.Id, decided.IsShadowRejected, decided.Message ?? "", started, decided.IsShadowRejected);
                if (decided.Message is { } message && message.StartsWith(PolicyResult.AuthRequiredPrefix, StringComparison.Ordinal))
                    reply(RelayFrames.Auth(client.Challenge));
                return;
            }
            var result = await grains.GetGrain<IAuthorStreamGrain>(evt.Pubkey).AppendAsync(evt);
            Answer(evt.Id, result.Ok, result.Message, started);
            if (result.Status == AppendStatus.Accepted) policies.Stored(evt, client);
        }
        catch (Exception ex)
        {
            LogAppendFailed(logger, ex, evt.Id);
            Answer(evt.Id, false, "error: the event could not be stored; try again", started);
        }
        finally
        {
            lock (_authorTails)
            {
                if (_authorTails.TryGetValue(evt.Pubkey, out var tail) && tail == done.Task) _authorTails.Remove(evt.Pubkey);
            }
            done.SetResult();
            _slots.Release();
        }
    }

    private void Answer(string eventId, bool accepted, string message, long started, bool shadowRejected = false)
    {
        reply(RelayFrames.Ok(eventId, accepted, message));
        metrics.Answered(accepted, message, started, shadowRejected);
    }

    [LoggerMessage(EventId = 402, Level = LogLevel.Error, Message = "Append of event {EventId} failed")]
    private static partial void LogAppendFailed(ILogger logger, Exception ex, string eventId);
}
