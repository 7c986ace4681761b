using System.Runtime.CompilerServices;

namespace NostrRelay.Storage.Compositions;

/// <summary>The expired ids of several stores, each once: a composition's deletes reach every store that holds an id.</summary>
internal static class ExpiredUnion
{
    public static async IAsyncEnumerable<string> ReadAsync(IReadOnlyList<IEventStore> stores, long now, int max,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var store in stores)
        {
            await foreach (var id in store.ReadExpiredAsync(now, max, cancellationToken))
            {
                if (!seen.Add(id)) continue;
                yield return id;
                if (seen.Count >= max) yield break;
            }
        }
    }
}
