using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;

namespace NostrRelay.Information;

/// <summary>
/// <c>GET /</c> for a browser: the NIP-11 document as a person reads it (name, icon, description, operator, contact,
/// supported NIPs linked to their texts, limits, software and version), the live figures, and how to connect. One
/// page, its style inline, no script, readable on a phone. Every value from configuration or NIP-86 is HTML-encoded,
/// and only http(s) and mailto links are made links.
/// </summary>
internal static class LandingPage
{
    private const string NipsBase = "https://github.com/nostr-protocol/nips/blob/master/";

    public static string Render(byte[] document, string connectUrl, long connections, long? eventsStored, double? eventsPerSecond)
    {
        using var json = JsonDocument.Parse(document);
        var info = json.RootElement;
        var name = Text(info, "name") ?? "Nostr relay";
        var html = new StringBuilder(8_192);
        html.Append("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">")
            .Append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">")
            .Append("<title>").Append(E(name)).Append("</title><style>").Append(Style).Append("</style></head><body><main>");
        html.Append("<header>");
        if (Link(Text(info, "icon")) is { } icon) html.Append("<img class=\"icon\" alt=\"\" src=\"").Append(E(icon)).Append("\">");
        html.Append("<h1>").Append(E(name)).Append("</h1></header>");
        if (Text(info, "description") is { } description)
            foreach (var paragraph in description.Split("\n\n", StringSplitOptions.RemoveEmptyEntries))
                html.Append("<p class=\"description\">").Append(E(paragraph)).Append("</p>");

        html.Append("<section id=\"connect\"><h2>Connect</h2><p>Add this relay to your Nostr client:</p><p><code id=\"url\">")
            .Append(E(connectUrl)).Append("</code></p></section>");

        html.Append("<section id=\"figures\"><h2>Now</h2><dl>");
        Row(html, "Connections", connections.ToString("N0", CultureInfo.InvariantCulture));
        Row(html, "Events stored", eventsStored?.ToString("N0", CultureInfo.InvariantCulture) ?? "—");
        Row(html, "Events per second", eventsPerSecond?.ToString("N1", CultureInfo.InvariantCulture) ?? "—");
        html.Append("</dl></section>");

        html.Append("<section id=\"nips\"><h2>Supported NIPs</h2><ul class=\"nips\">");
        if (info.TryGetProperty("supported_nips", out var nips) && nips.ValueKind == JsonValueKind.Array)
            foreach (var nip in nips.EnumerateArray())
                if (nip.ValueKind == JsonValueKind.Number && nip.TryGetInt32(out var number))
                {
                    var padded = number.ToString("00", CultureInfo.InvariantCulture);
                    html.Append("<li><a href=\"").Append(NipsBase).Append(padded).Append(".md\">NIP-").Append(padded).Append("</a></li>");
                }
        html.Append("</ul></section>");

        html.Append("<section id=\"operator\"><h2>Operator</h2><dl>");
        if (Text(info, "pubkey") is { } pubkey) Row(html, "Pubkey", $"<code>{E(pubkey)}</code>", encoded: true);
        if (Text(info, "contact") is { } contact)
            Row(html, "Contact", Link(contact) is { } href ? $"<a href=\"{E(href)}\">{E(contact)}</a>" : E(contact), encoded: true);
        var software = Text(info, "software");
        var version = Text(info, "version");
        Row(html, "Software", software is null ? E("Nostr relay on Microsoft Orleans")
            : Link(software) is { } home ? $"<a href=\"{E(home)}\">{E(software)}</a>" : E(software), encoded: true);
        if (version is not null) Row(html, "Version", version);
        foreach (var (key, label) in new[] { ("privacy_policy", "Privacy policy"), ("terms_of_service", "Terms of service"), ("posting_policy", "Posting policy") })
            if (Link(Text(info, key)) is { } page) Row(html, label, $"<a href=\"{E(page)}\">{E(page)}</a>", encoded: true);
        html.Append("</dl></section>");

        if (info.TryGetProperty("limitation", out var limitation) && limitation.ValueKind == JsonValueKind.Object)
        {
            html.Append("<section id=\"limits\"><h2>Limits</h2><dl>");
            foreach (var limit in limitation.EnumerateObject())
                Row(html, limit.Name.Replace('_', ' '), limit.Value.ValueKind switch
                {
                    JsonValueKind.True => "yes",
                    JsonValueKind.False => "no",
                    JsonValueKind.Number => limit.Value.TryGetInt64(out var n) ? n.ToString("N0", CultureInfo.InvariantCulture) : limit.Value.GetRawText(),
                    _ => limit.Value.ToString(),
                });
            html.Append("</dl></section>");
        }
        html.Append("<footer><p>This is a Nostr relay: its address is for Nostr clients, which speak to it over a WebSocket. ")
            .Append("Machines read this page's facts as JSON with <code>Accept: application/nostr+json</code> (NIP-11).</p></footer>");
        html.Append("</main></body></html>");
        return html.ToString();
    }

    private static void Row(StringBuilder html, string label, string value, bool encoded = false) =>
        html.Append("<dt>").Append(E(label)).Append("</dt><dd>").Append(encoded ? value : E(value)).Append("</dd>");

    private static string? Text(JsonElement info, string name) =>
        info.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String && value.GetString() is { Length: > 0 } text ? text : null;

    /// <summary>The value when it is an http(s) or mailto URL (an email address becomes mailto), else null.</summary>
    private static string? Link(string? value)
    {
        if (value is null) return null;
        if (Uri.TryCreate(value, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https" or "mailto") return uri.AbsoluteUri;
        return value.Contains('@') && !value.Contains(' ') && !value.Contains(':') ? "mailto:" + value : null;
    }

    private static string E(string text) => WebUtility.HtmlEncode(text);

    private const string Style = """
        body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1d1d1f;background:#f6f6f8}
        main{max-width:46rem;margin:0 auto;padding:1.5rem 1rem 3rem}
        header{display:flex;align-items:center;gap:.75rem}
        .icon{width:3rem;height:3rem;border-radius:.6rem;object-fit:cover}
        h1{font-size:1.8rem;margin:.5rem 0}
        h2{font-size:1.1rem;margin:1.6rem 0 .4rem;color:#5b3cc4}
        section{background:#fff;border-radius:.8rem;padding:.2rem 1rem .8rem;margin-top:1rem;box-shadow:0 1px 2px #0001}
        code{font:0.95em ui-monospace,monospace;word-break:break-all;background:#f0eefa;padding:.1em .35em;border-radius:.3em}
        #url{font-size:1.1em}
        dl{display:grid;grid-template-columns:minmax(8rem,max-content) 1fr;gap:.3rem 1rem;margin:0}
        dt{color:#6e6e73}dd{margin:0;overflow-wrap:anywhere}
        .nips{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:.4rem}
        .nips a{display:inline-block;padding:.2rem .55rem;border-radius:1rem;background:#f0eefa;color:#5b3cc4;text-decoration:none}
        footer{color:#6e6e73;font-size:.9rem;margin-top:1.5rem}
        @media (max-width:30rem){dl{grid-template-columns:1fr}dt{margin-top:.4rem}}
        """;
}
