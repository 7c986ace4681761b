using System.Text;

namespace NostrRelay.Benchmarks.Client;

/// <summary>Client-to-relay frames, built before timing starts so that sending one costs only the send.</summary>
internal static class ClientFrames
{
    /// <summary><c>["EVENT",event]</c> around the event's exact serialized bytes.</summary>
    public static byte[] Event(byte[] eventJson)
    {
        ReadOnlySpan<byte> prefix = "[\"EVENT\","u8;
        var frame = new byte[prefix.Length + eventJson.Length + 1];
        prefix.CopyTo(frame);
        eventJson.CopyTo(frame, prefix.Length);
        frame[^1] = (byte)']';
        return frame;
    }

    /// <summary><c>["REQ",sub,filter]</c>; the filter is JSON written by the caller (ids and hex only, nothing to escape).</summary>
    public static byte[] Req(string subscriptionId, string filterJson) =>
        Encoding.UTF8.GetBytes($"[\"REQ\",\"{subscriptionId}\",{filterJson}]");

    public static byte[] Close(string subscriptionId) => Encoding.UTF8.GetBytes($"[\"CLOSE\",\"{subscriptionId}\"]");
}
