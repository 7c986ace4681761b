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
        Assert.Equal([1, 9, 11, 13, 40, 42, 45, 50, 62, 70, 77], doc.GetProperty("supported_nips").EnumerateArray().Select(e => e.GetInt32()));
        Assert.False(string.IsNullOrEmpty(doc.GetProperty("name").GetString()));
        Assert.False(doc.TryGetProperty("software", out _));   // NIP-11: a URL, and this build names none unless configured
        Assert.False(string.IsNullOrEmpty(doc.GetProperty("version").GetString()));
        var limits = doc.GetProperty("limitation");
        Assert.Equal(262144, limits.GetProperty("max_message_length").GetInt32());
        Assert.Equal(50, limits.GetProperty("max_subscriptions").GetInt32());
        Assert.Equal(5000, limits.GetProperty("max_limit").GetInt32());
        Assert.Equal(500, limits.GetProperty("default_limit").GetInt32());
        Assert.Equal(64, limits.GetProperty("max_subid_length").GetInt32());
        Assert.Equal(2500, limits.GetProperty("max_event_tags").GetInt32());
        Assert.Equal(100000, limits.GetProperty("max_content_length").GetInt32());
        Assert.Equal(0, limits.GetProperty("min_pow_difficulty").GetInt32());
        Assert.Equal(900, limits.GetProperty("created_at_upper_limit").GetInt64());
        Assert.False(limits.TryGetProperty("created_at_lower_limit", out _));
        Assert.False(limits.GetProperty("restricted_writes").GetBoolean());
        Assert.False(limits.GetProperty("auth_required").GetBoolean());
        Assert.False(limits.GetProperty("payment_required").GetBoolean());
        Assert.Equal(1_000_000, limits.GetProperty("negentropy_max_records").GetInt32());
        Assert.Equal(4, limits.GetProperty("negentropy_max_sessions").GetInt32());
        Assert.Equal(500_000, limits.GetProperty("negentropy_frame_size_limit").GetInt32());
    }

    [Fact]
    public async Task the_descriptive_fields_configured_appear_in_the_document()
    {
        await using var relay = await RelayServer.StartAsync(
            "Relay:Banner=https://relay.example/banner.png",
            "Relay:Software=https://git.example/relay",
            "Relay:PrivacyPolicy=https://relay.example/privacy.html",
            "Relay:TermsOfService=https://relay.example/terms.html",
            "Relay:PostingPolicy=https://relay.example/posting-policy.html",
            "Relay:RelayCountries:0=CA", "Relay:RelayCountries:1=US",
            "Relay:LanguageTags:0=en", "Relay:LanguageTags:1=en-419",
            "Relay:Tags:0=sfw-only", "Relay:Tags:1=bitcoin-only",
            "Relay:PaymentsUrl=https://relay.example/payments",
            "Relay:Fees:Admission:0:Amount=1000000", "Relay:Fees:Admission:0:Unit=msats",
            "Relay:Fees:Subscription:0:Amount=5000000", "Relay:Fees:Subscription:0:Unit=msats", "Relay:Fees:Subscription:0:Period=2592000",
            "Relay:Fees:Publication:0:Amount=100", "Relay:Fees:Publication:0:Unit=msats", "Relay:Fees:Publication:0:Kinds:0=4");

        var doc = await InformationDocument.FetchAsync(relay.HttpUrl);

        Assert.Equal("https://relay.example/banner.png", doc.GetProperty("banner").GetString());
        Assert.Equal("https://git.example/relay", doc.GetProperty("software").GetString());
        Assert.Equal("https://relay.example/privacy.html", doc.GetProperty("privacy_policy").GetString());
        Assert.Equal("https://relay.example/terms.html", doc.GetProperty("terms_of_service").GetString());
        Assert.Equal("https://relay.example/posting-policy.html", doc.GetProperty("posting_policy").GetString());
        Assert.Equal(["CA", "US"], doc.GetProperty("relay_countries").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(["en", "en-419"], doc.GetProperty("language_tags").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(["sfw-only", "bitcoin-only"], doc.GetProperty("tags").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal("https://relay.example/payments", doc.GetProperty("payments_url").GetString());
        // NIP-11's own example, field for field.
        var fees = doc.GetProperty("fees");
        Assert.True(JsonElement.DeepEquals(JsonDocument.Parse("""
            {
              "admission": [{ "amount": 1000000, "unit": "msats" }],
              "subscription": [{ "amount": 5000000, "unit": "msats", "period": 2592000 }],
              "publication": [{ "kinds": [4], "amount": 100, "unit": "msats" }]
            }
            """).RootElement, fees), fees.ToString());
    }

    [Fact]
    public async Task descriptive_fields_left_unset_are_absent()
    {
        var doc = await InformationDocument.FetchAsync(fixture.Relay.HttpUrl);

        string[] unset = ["banner", "icon", "pubkey", "contact", "privacy_policy", "terms_of_service", "posting_policy",
            "relay_countries", "language_tags", "tags", "payments_url", "fees"];
        foreach (var name in unset) Assert.False(doc.TryGetProperty(name, out _), $"{name} is in the document");
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
