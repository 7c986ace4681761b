using System.Text.Json;

namespace NostrRelay.Silo.Sync;

/// <summary>
/// Fetches events by id from a relay with REQs of a few hundred ids each, one at a time, and yields each event's
/// JSON as the relay sent it (only the ids asked for, once each).
/// </summary>
internal sealed class EventDownloader(RelaySocket socket, TimeSpan timeout)
{
    private const int IdsPerRequest = 250;

    public async IAsyncEnumerable<(string Id, string Json)> DownloadAsync(IReadOnlyList<string> ids,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var wanted = new HashSet<string>(ids, StringComparer.Ordinal);
        for (var start = 0; start < ids.Count; start += IdsPerRequest)
        {
            var batch = ids.Skip(start).Take(IdsPerRequest).ToArray();
            var subscriptionId = "get-" + start;
            await socket.SendAsync(JsonSerializer.Serialize(new object[] { "REQ", subscriptionId, new { ids = batch, limit = batch.Length } }), cancellationToken);
            while (true)
            {
                var frame = await socket.ReceiveAsync(timeout, cancellationToken);
                if (frame.ValueKind != JsonValueKind.Array || frame.GetArrayLength() < 2 || !frame[1].ValueEquals(subscriptionId)) continue;
                if (frame[0].ValueEquals("EOSE")) break;
                if (frame[0].ValueEquals("CLOSED"))
                    throw new SyncException($"{socket.Url} refused to send the events: {(frame.GetArrayLength() > 2 ? frame[2].ToString() : "")}");
                if (!frame[0].ValueEquals("EVENT") || frame.GetArrayLength() < 3 || frame[2].ValueKind != JsonValueKind.Object) continue;
                var evt = frame[2];
                if (!evt.TryGetProperty("id", out var idElement) || idElement.GetString() is not { } id || !wanted.Remove(id)) continue;
                yield return (id, evt.GetRawText());
            }
            await socket.SendAsync(JsonSerializer.Serialize(new[] { "CLOSE", subscriptionId }), cancellationToken);
        }
    }
}
