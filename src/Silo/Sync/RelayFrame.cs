using System.Text.Json;

namespace NostrRelay.Silo.Sync;

/// <summary>
/// Reads another relay's frames without trusting their shape: an element of the wrong JSON type reads as absent, never
/// as an exception (the other relay may be anything).
/// </summary>
internal static class RelayFrame
{
    /// <summary>True for an array whose first element is this verb.</summary>
    public static bool Is(JsonElement frame, string verb) =>
        frame.ValueKind == JsonValueKind.Array && frame.GetArrayLength() > 0
        && frame[0].ValueKind == JsonValueKind.String && frame[0].ValueEquals(verb);

    /// <summary>The frame's element at <paramref name="index"/> when it is a string, else null.</summary>
    public static string? String(JsonElement frame, int index) =>
        frame.ValueKind == JsonValueKind.Array && frame.GetArrayLength() > index && frame[index].ValueKind == JsonValueKind.String
            ? frame[index].GetString() : null;

    /// <summary>True for <c>[verb, subscriptionId, ...]</c>.</summary>
    public static bool IsFor(JsonElement frame, string verb, string subscriptionId) => Is(frame, verb) && String(frame, 1) == subscriptionId;

    /// <summary>The event of <c>["EVENT", subscriptionId, event]</c> and its id, when the frame is one.</summary>
    public static bool TryEvent(JsonElement frame, string subscriptionId, out string id, out JsonElement evt)
    {
        id = "";
        evt = default;
        if (!IsFor(frame, "EVENT", subscriptionId) || frame.GetArrayLength() < 3 || frame[2].ValueKind != JsonValueKind.Object) return false;
        evt = frame[2];
        if (!evt.TryGetProperty("id", out var idElement) || idElement.ValueKind != JsonValueKind.String) return false;
        id = idElement.GetString()!;
        return true;
    }
}
