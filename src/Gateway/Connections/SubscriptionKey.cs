using System.Globalization;

namespace NostrRelay.Connections;

/// <summary>
/// The name a REQ goes by in its subscription grain: the client's subscription id and a number new for each REQ the
/// connection opens ("feed#12"). NIP-01 lets a client use an id again (a REQ replaces the open one of its id; a CLOSE
/// then a REQ opens it anew), while deliveries of the earlier REQ can still be on their way from the grain when the
/// later one is registered. Named apart, they are told apart: the client never gets the earlier filter's events, EOSE
/// or CLOSED as the later REQ's. The number holds no '#', so the client's id is all before the last one, whatever the
/// id itself holds. The grain takes the name as it is, so a grain of an older build serves it unchanged.
/// </summary>
internal static class SubscriptionKey
{
    public static string Of(string subscriptionId, int number) =>
        string.Concat(subscriptionId, "#", number.ToString(CultureInfo.InvariantCulture));

    /// <summary>The client's subscription id in a key; the whole key when it has no number (not one this gateway made).</summary>
    public static ReadOnlySpan<char> IdIn(string key)
    {
        var at = key.LastIndexOf('#');
        return at < 0 ? key : key.AsSpan(0, at);
    }
}
