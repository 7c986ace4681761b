using System.Text.Json;
using System.Text.Json.Nodes;

namespace NostrRelay.Silo.Sync;

/// <summary>
/// <c>stream</c>: follows the new events of one relay into another, as a client would (a REQ there, EVENTs here, each
/// awaiting its OK), for a relay that mirrors others. The live events come from a REQ with <c>limit: 0</c>, so an event
/// is followed whatever its created_at. After a drop on either side it connects again, with a pause that grows to
/// 30 s, and besides the live REQ reads once the stored events from a minute before the last moment everything
/// received was stored, so an event published meanwhile is not missed (the ones seen twice are duplicates to the
/// relay). An event with an older created_at published while the connection was down is left to <c>sync</c>.
/// </summary>
internal sealed class StreamCommand(SyncArguments arguments, Uri relay)
{
    private static readonly TimeSpan Margin = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan MaxPause = TimeSpan.FromSeconds(30);

    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        var follows = new List<Task>();
        if (arguments.Direction is SyncDirection.Down or SyncDirection.Both) follows.Add(FollowAsync(arguments.Other, relay, "down", cancellationToken));
        if (arguments.Direction is SyncDirection.Up or SyncDirection.Both) follows.Add(FollowAsync(relay, arguments.Other, "up", cancellationToken));
        await Task.WhenAll(follows);
        return 0;
    }

    private async Task FollowAsync(Uri from, Uri to, string direction, CancellationToken cancellationToken)
    {
        long? since = null;   // the first connection: live events only
        var pause = TimeSpan.FromSeconds(1);
        long forwarded = 0;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await using var source = await RelaySocket.ConnectAsync(from, arguments.Timeout, cancellationToken);
                await using var sink = await RelaySocket.ConnectAsync(to, arguments.Timeout, cancellationToken);
                await using var publisher = new EventPublisher(sink, 256, arguments.Timeout);
                await source.SendAsync(JsonSerializer.Serialize(new JsonNode[] { "REQ", "live", Filter(since: null, limit: 0) }), cancellationToken);
                if (since is { } resume) await source.SendAsync(JsonSerializer.Serialize(new JsonNode[] { "REQ", "missed", Filter(resume, limit: null) }), cancellationToken);
                Report(direction, since is null ? $"following {from} into {to}" : $"following {from} into {to}, and what it stored since created_at {since}");
                pause = TimeSpan.FromSeconds(1);
                while (true)
                {
                    if (publisher.IsIdle()) since = DateTimeOffset.UtcNow.Add(-Margin).ToUnixTimeSeconds();
                    if (await source.ReceiveOrNullAsync(TimeSpan.FromSeconds(1), cancellationToken) is not { } frame) continue;
                    if (frame.ValueKind != JsonValueKind.Array || frame.GetArrayLength() < 2 || !(frame[1].ValueEquals("live") || frame[1].ValueEquals("missed"))) continue;
                    if (frame[0].ValueEquals("EOSE") && frame[1].ValueEquals("missed")) await source.SendAsync("""["CLOSE","missed"]""", cancellationToken);
                    if (frame[0].ValueEquals("CLOSED")) throw new SyncException($"{from} closed the subscription: {(frame.GetArrayLength() > 2 ? frame[2].ToString() : "")}");
                    if (!frame[0].ValueEquals("EVENT") || frame.GetArrayLength() < 3 || frame[2].ValueKind != JsonValueKind.Object) continue;
                    if (!frame[2].TryGetProperty("id", out var id) || id.ValueKind != JsonValueKind.String) continue;
                    await publisher.PublishAsync(id.GetString()!, frame[2].GetRawText(), cancellationToken);
                    if (++forwarded % 1_000 == 0) Report(direction, $"{forwarded:N0} events forwarded");
                }
            }
            catch (SyncException ex)
            {
                Report(direction, $"{ex.Message}; connecting again in {pause.TotalSeconds:0} s");
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                break;
            }
            try
            {
                await Task.Delay(pause, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                break;
            }
            pause = TimeSpan.FromTicks(Math.Min(MaxPause.Ticks, pause.Ticks * 2));
        }
        Report(direction, $"stopped after {forwarded:N0} events");
    }

    /// <summary>The operator's filter, from <paramref name="since"/> on when given (or its own since, if later), with this limit or none.</summary>
    private JsonNode Filter(long? since, int? limit)
    {
        var filter = JsonNode.Parse(arguments.FilterJson)!.AsObject();
        if (since is { } from)
        {
            if (filter["since"] is JsonValue own && own.TryGetValue<long>(out var ownSince) && ownSince > from) from = ownSince;
            filter["since"] = from;
        }
        filter.Remove("limit");
        if (limit is { } value) filter["limit"] = value;
        return filter;
    }

    private static void Report(string direction, string line) => Console.Error.WriteLine($"stream {direction}: {line}");
}
