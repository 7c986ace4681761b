using System.Text.Json;

namespace NostrRelay.Silo.Sync;

/// <summary>
/// Fetches events by id from a relay with REQs of a few hundred ids each, one at a time, and yields each event's
/// JSON as the relay sent it (only the ids asked for, once each). Ids a relay left out (its <c>max_limit</c> may be
/// lower than a batch) are asked again in smaller batches; those it never sends are in <see cref="Missing"/>.
/// </summary>
internal sealed class EventDownloader(RelaySocket socket, TimeSpan timeout)
{
    private const int IdsPerRequest = 250;

    /// <summary>Ids asked for that the relay did not send, once the download is over.</summary>
    public List<string> Missing { get; } = [];

    public async IAsyncEnumerable<(string Id, string Json)> DownloadAsync(IReadOnlyList<string> ids,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var wanted = new HashSet<string>(ids, StringComparer.Ordinal);
        var requests = 0;
        foreach (var size in new[] { IdsPerRequest, 20 })
        {
            var asking = ids.Where(wanted.Contains).ToList();
            for (var start = 0; start < asking.Count; start += size)
            {
                var batch = asking.Skip(start).Take(size).ToArray();
                var subscriptionId = "get-" + requests++;
                await socket.SendAsync(JsonSerializer.Serialize(new object[] { "REQ", subscriptionId, new { ids = batch, limit = batch.Length } }), cancellationToken);
                while (true)
                {
                    var frame = await socket.ReceiveAsync(timeout, cancellationToken);
                    if (RelayFrame.IsFor(frame, "EOSE", subscriptionId)) break;
                    if (RelayFrame.IsFor(frame, "CLOSED", subscriptionId))
                        throw new SyncException($"{socket.Url} refused to send the events: {RelayFrame.String(frame, 2)}");
                    if (!RelayFrame.TryEvent(frame, subscriptionId, out var id, out var evt) || !wanted.Remove(id)) continue;
                    yield return (id, evt.GetRawText());
                }
                await socket.SendAsync(JsonSerializer.Serialize(new[] { "CLOSE", subscriptionId }), cancellationToken);
            }
            if (wanted.Count == 0) break;
        }
        Missing.AddRange(ids.Where(wanted.Contains));
    }
}
