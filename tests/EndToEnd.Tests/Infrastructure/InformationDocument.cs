using System.Net.Http.Headers;
using System.Text.Json;

namespace NostrRelay.EndToEnd.Tests.Infrastructure;

/// <summary>The NIP-11 document a relay serves to <c>Accept: application/nostr+json</c>.</summary>
public static class InformationDocument
{
    public static async Task<JsonElement> FetchAsync(Uri httpUrl)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        http.DefaultRequestHeaders.Accept.Add(new MediaTypeWithQualityHeaderValue("application/nostr+json"));
        return JsonDocument.Parse(await http.GetStringAsync(httpUrl)).RootElement;
    }

    public static async Task<JsonElement> LimitationAsync(Uri httpUrl) => (await FetchAsync(httpUrl)).GetProperty("limitation");
}
