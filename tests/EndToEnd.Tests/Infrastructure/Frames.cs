using System.Text.Json;

namespace NostrRelay.EndToEnd.Tests.Infrastructure;

/// <summary>Builds client frames and reads relay frames.</summary>
public static class Frames
{
    public static string Req(string subscriptionId, params object[] filters)
    {
        var parts = new List<object> { "REQ", subscriptionId };
        parts.AddRange(filters);
        return JsonSerializer.Serialize(parts);
    }

    public static string Close(string subscriptionId) => JsonSerializer.Serialize(new[] { "CLOSE", subscriptionId });

    public static bool Is(JsonElement frame, string type) =>
        frame.ValueKind == JsonValueKind.Array && frame.GetArrayLength() > 0 && frame[0].ValueKind == JsonValueKind.String && frame[0].GetString() == type;

    public static bool IsFor(JsonElement frame, string subscriptionId) =>
        (Is(frame, "EVENT") || Is(frame, "EOSE") || Is(frame, "CLOSED")) && frame[1].GetString() == subscriptionId;

    public static string Id(JsonElement evt) => evt.GetProperty("id").GetString()!;
    public static string Content(JsonElement evt) => evt.GetProperty("content").GetString()!;
}
