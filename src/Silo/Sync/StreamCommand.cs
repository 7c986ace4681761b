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
                await source.SendAsync(JsonSerializer.Serialize(new JsonNode[] { "REQ", "live", Filter(since: null, until: null, limit: 0) }), cancellationToken);
                var catchUp = since is { } resume ? new CatchUp(resume) : null;
                if (catchUp is not null) await source.SendAsync(catchUp.Request(this), cancellationToken);
                Report(direction, catchUp is null ? $"following {from} into {to}" : $"following {from} into {to}, and what it stored since created_at {since}");
                pause = TimeSpan.FromSeconds(1);
                while (true)
                {
                    // Only once what was missed has all been read and stored may a later drop resume from nearer now.
                    if (catchUp is null && publisher.IsIdle()) since = DateTimeOffset.UtcNow.Add(-Margin).ToUnixTimeSeconds();
                    if (await source.ReceiveOrNullAsync(TimeSpan.FromSeconds(1), cancellationToken) is not { } frame) continue;
                    if (RelayFrame.Is(frame, "CLOSED") && RelayFrame.String(frame, 1) is "live" or "missed")
                        throw new SyncException($"{from} closed the subscription: {RelayFrame.String(frame, 2)}");
                    if (catchUp is not null && RelayFrame.IsFor(frame, "EOSE", catchUp.SubscriptionId))
                    {
                        await source.SendAsync(JsonSerializer.Serialize(new[] { "CLOSE", catchUp.SubscriptionId }), cancellationToken);
                        catchUp = catchUp.Next();
                        if (catchUp is not null) await source.SendAsync(catchUp.Request(this), cancellationToken);
                        continue;
                    }
                    string id;
                    JsonElement evt;
                    if (RelayFrame.TryEvent(frame, "live", out id, out evt)) { }
                    else if (catchUp is not null && RelayFrame.TryEvent(frame, catchUp.SubscriptionId, out id, out evt)) catchUp.Saw(id, evt);
                    else continue;
                    await publisher.PublishAsync(id, evt.GetRawText(), cancellationToken);
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

    /// <summary>
    /// What was stored while the connection was down, read in pages newest first (a relay caps each REQ at its
    /// max_limit): each page ends where the oldest event of the last one was, until a page brings nothing new.
    /// </summary>
    private sealed class CatchUp(long since, long? until = null, int page = 0, HashSet<string>? seen = null)
    {
        private readonly HashSet<string> _seen = seen ?? new(StringComparer.Ordinal);
        private long? _oldest;
        private bool _new;

        public string SubscriptionId { get; } = "missed-" + page;

        public string Request(StreamCommand command) =>
            JsonSerializer.Serialize(new JsonNode[] { "REQ", SubscriptionId, command.Filter(since, until, limit: null) });

        public void Saw(string id, JsonElement evt)
        {
            if (_seen.Add(id)) _new = true;
            if (evt.TryGetProperty("created_at", out var at) && at.ValueKind == JsonValueKind.Number && at.TryGetInt64(out var createdAt))
                _oldest = _oldest is { } oldest ? Math.Min(oldest, createdAt) : createdAt;
        }

        /// <summary>The next page, or null when this one brought nothing new (everything missed was read).</summary>
        public CatchUp? Next() => _new && _oldest is { } oldest ? new CatchUp(since, oldest, page + 1, _seen) : null;
    }

    /// <summary>
    /// The operator's filter, from <paramref name="since"/> on and up to <paramref name="until"/> when given (or its
    /// own bounds, if narrower), with this limit or none.
    /// </summary>
    private JsonNode Filter(long? since, long? until, int? limit)
    {
        var filter = JsonNode.Parse(arguments.FilterJson)!.AsObject();
        if (since is { } from)
        {
            if (filter["since"] is JsonValue own && own.TryGetValue<long>(out var ownSince) && ownSince > from) from = ownSince;
            filter["since"] = from;
        }
        if (until is { } to)
        {
            if (filter["until"] is JsonValue own && own.TryGetValue<long>(out var ownUntil) && ownUntil < to) to = ownUntil;
            filter["until"] = to;
        }
        filter.Remove("limit");
        if (limit is { } value) filter["limit"] = value;
        return filter;
    }

    private static void Report(string direction, string line) => Console.Error.WriteLine($"stream {direction}: {line}");
}
