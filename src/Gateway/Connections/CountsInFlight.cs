using Microsoft.Extensions.Logging;
using NostrRelay.Framing;
using NostrRelay.Grains;

namespace NostrRelay.Connections;

/// <summary>
/// One connection's COUNTs between request and answer (NIP-45). A few run at once (reading the socket pauses beyond
/// that), each on a count grain of this silo, so a long count holds up neither this connection's other messages nor
/// anyone else's.
/// </summary>
internal sealed partial class CountsInFlight(IGrainFactory grains, ClusterCallWatch calls, int maxInFlight, Action<OutboundFrame> reply, ILogger logger)
{
    private readonly SemaphoreSlim _slots = new(maxInFlight, maxInFlight);

    /// <summary>Returns once the count is under way (at once, unless the bound is reached); the answer is sent later.</summary>
    public async ValueTask SubmitAsync(string queryId, CountRequest request)
    {
        await _slots.WaitAsync();
        _ = CountAsync(queryId, request);
    }

    private async Task CountAsync(string queryId, CountRequest request)
    {
        try
        {
            var result = await calls.CallAsync(() => grains.GetGrain<ICountGrain>(0).CountAsync(request));
            reply(RelayFrames.Count(queryId, result.Count, result.Approximate, result.Hll));
        }
        catch (Exception ex)
        {
            // NIP-45: a COUNT the relay does not fulfil gets CLOSED.
            LogCountFailed(logger, ex, queryId);
            reply(RelayFrames.Closed(queryId, ex is OperationCanceledException or TimeoutException
                ? "error: the count took too long; narrow the filters"
                : "error: the count failed; try again later"));
        }
        finally
        {
            _slots.Release();
        }
    }

    [LoggerMessage(EventId = 406, Level = LogLevel.Warning, Message = "COUNT {QueryId} failed")]
    private static partial void LogCountFailed(ILogger logger, Exception exception, string queryId);
}
