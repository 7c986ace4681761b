using System.Globalization;

namespace NostrRelay.Protocol;

/// <summary>NIP-13 proof of work: the difficulty of an event is the number of leading zero bits of its id.</summary>
public static class ProofOfWork
{
    /// <summary>Leading zero bits of a lowercase hex id (0 to 256).</summary>
    public static int Difficulty(string id)
    {
        var bits = 0;
        foreach (var c in id)
        {
            var nibble = c is >= '0' and <= '9' ? c - '0' : c is >= 'a' and <= 'f' ? c - 'a' + 10 : -1;
            if (nibble < 0) return bits;
            if (nibble == 0)
            {
                bits += 4;
                continue;
            }
            // 1 -> 3 zero bits, 2-3 -> 2, 4-7 -> 1, 8-15 -> 0.
            return bits + (nibble >= 8 ? 0 : nibble >= 4 ? 1 : nibble >= 2 ? 2 : 3);
        }
        return bits;
    }

    /// <summary>
    /// The target the miner committed to in the <c>nonce</c> tag's third entry (<c>["nonce", "776797", "20"]</c>), or
    /// null when there is none. NIP-13: a committed target keeps a lucky low-effort id from passing as harder work.
    /// </summary>
    public static int? CommittedTarget(NostrEvent evt)
    {
        foreach (var tag in evt.Tags)
        {
            if (tag.Length < 3 || tag[0] != "nonce") continue;
            return int.TryParse(tag[2], NumberStyles.None, CultureInfo.InvariantCulture, out var target) ? target : 0;
        }
        return null;
    }
}
