using System.Net.Http.Headers;
using System.Text.Json;
using NostrRelay.EndToEnd.Tests.Infrastructure;

namespace NostrRelay.EndToEnd.Tests;

/// <summary>
/// NIP-11: "When a relay receives an HTTP(s) request with an Accept header of application/nostr+json to a
/// URI supporting WebSocket upgrades, they SHOULD return a document"; relays "MUST accept CORS requests
/// by sending Access-Control-Allow-Origin, Access-Control-Allow-Headers, and Access-Control-Allow-Methods".
/// </summary>
[Collection(RelayCollection.Name)]
public sealed class Nip11InformationTests(RelayFixture fixture)
{
    [Fact]
    public async Task the_information_document_lists_working_nips_and_the_limits_in_force()
    {
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, fixture.Relay.HttpUrl);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/nostr+json"));

        using var response = await http.SendAsync(request);
        var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;

        Assert.Equal("application/nostr+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("*", response.Headers.GetValues("Access-Control-Allow-Origin").Single());
        Assert.True(response.Headers.Contains("Access-Control-Allow-Headers"));
        Assert.Contains("GET", response.Headers.GetValues("Access-Control-Allow-Methods").Single());
        Assert.Equal([1, 11], doc.GetProperty("supported_nips").EnumerateArray().Select(e => e.GetInt32()));
        Assert.False(string.IsNullOrEmpty(doc.GetProperty("name").GetString()));
        Assert.False(string.IsNullOrEmpty(doc.GetProperty("software").GetString()));
        Assert.False(string.IsNullOrEmpty(doc.GetProperty("version").GetString()));
        var limits = doc.GetProperty("limitation");
        Assert.Equal(262144, limits.GetProperty("max_message_length").GetInt32());
        Assert.Equal(50, limits.GetProperty("max_subscriptions").GetInt32());
        Assert.Equal(5000, limits.GetProperty("max_limit").GetInt32());
        Assert.Equal(500, limits.GetProperty("default_limit").GetInt32());
        Assert.Equal(64, limits.GetProperty("max_subid_length").GetInt32());
        Assert.Equal(2500, limits.GetProperty("max_event_tags").GetInt32());
        Assert.Equal(100000, limits.GetProperty("max_content_length").GetInt32());
    }

    [Fact]
    public async Task a_configured_limit_is_advertised_as_configured()
    {
        await using var relay = await RelayServer.StartAsync("Relay:Limits:MaxSubscriptions=7", "Relay:Name=Test relay");
        using var http = new HttpClient();
        http.DefaultRequestHeaders.Accept.Add(new MediaTypeWithQualityHeaderValue("application/nostr+json"));

        var doc = JsonDocument.Parse(await http.GetStringAsync(relay.HttpUrl)).RootElement;

        Assert.Equal("Test relay", doc.GetProperty("name").GetString());
        Assert.Equal(7, doc.GetProperty("limitation").GetProperty("max_subscriptions").GetInt32());
    }

    [Fact]
    public async Task a_cors_preflight_is_answered()
    {
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Options, fixture.Relay.HttpUrl);
        request.Headers.Add("Origin", "https://client.example");
        request.Headers.Add("Access-Control-Request-Method", "GET");

        using var response = await http.SendAsync(request);

        Assert.True(response.IsSuccessStatusCode);
        Assert.Equal("*", response.Headers.GetValues("Access-Control-Allow-Origin").Single());
    }

    [Fact]
    public async Task a_plain_browser_request_gets_a_human_readable_page()
    {
        using var http = new HttpClient();

        using var response = await http.GetAsync(fixture.Relay.HttpUrl);
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("Nostr relay", body);
    }
}
