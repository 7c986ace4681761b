using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using NostrRelay.Grains;

namespace NostrRelay.Cluster.Interest;

/// <summary>
/// What this silo's live subscriptions can match, each key counted by the REQs that need it, and numbered
/// changes of that set for the peers. A key is announced when its first REQ comes and withdrawn when its last
/// one goes; each such change is one generation. Not thread-safe: <see cref="SiloInterest"/> holds its lock.
/// </summary>
internal sealed class InterestLedger
{
    private readonly Dictionary<InterestKey, Entry> _keys = [];

    private struct Entry
    {
        public int Count;
        /// <summary>The generation that announced the key: a peer at or past it has it.</summary>
        public long Since;
    }

    /// <summary>The number of the last change; 0 before any.</summary>
    public long Generation { get; private set; }

    /// <summary>Keys held now.</summary>
    public int Count => _keys.Count;

    /// <summary>
    /// Counts a REQ's keys in. Returns the change that announces the keys new to this silo (null when it had them
    /// all) and, in <paramref name="needed"/>, the generation a peer must hold to have every one of them.
    /// </summary>
    public InterestUpdate? Add(List<InterestKey> keys, out long needed)
    {
        needed = 0;
        List<InterestKey>? added = null;
        foreach (var key in keys)
        {
            ref var entry = ref CollectionsMarshal.GetValueRefOrAddDefault(_keys, key, out _);
            if (entry.Count++ == 0)
            {
                entry.Since = Generation + 1;
                (added ??= []).Add(key);
            }
            if (entry.Since > needed) needed = entry.Since;
        }
        if (added is null) return null;
        Generation++;
        return new InterestUpdate(Generation - 1, Generation, [.. added], []);
    }

    /// <summary>Counts a REQ's keys out (the same keys it was counted in with); returns the change withdrawing those no REQ needs any more.</summary>
    public InterestUpdate? Remove(List<InterestKey> keys)
    {
        List<InterestKey>? removed = null;
        foreach (var key in keys)
        {
            ref var entry = ref CollectionsMarshal.GetValueRefOrNullRef(_keys, key);
            if (Unsafe.IsNullRef(ref entry)) continue;
            if (--entry.Count > 0) continue;
            _keys.Remove(key);
            (removed ??= []).Add(key);
        }
        if (removed is null) return null;
        Generation++;
        return new InterestUpdate(Generation - 1, Generation, [], [.. removed]);
    }

    /// <summary>Everything held now, as one whole summary at the current generation: what a new peer gets first.</summary>
    public InterestUpdate Whole() => new(-1, Generation, [.. _keys.Keys], []);
}
