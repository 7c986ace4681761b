using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using NostrRelay.Hosting;

namespace NostrRelay.Information;

/// <summary>
/// The NIP-11 relay information document, rendered once from the options in force, then edited by the embedder's
/// <see cref="RelayOptions.RewriteInformation"/> hooks. Only what is enforced is advertised.
/// </summary>
internal sealed class RelayInformation
{
    /// <summary>
    /// Only the NIPs that work end to end today; 50 when the store can search (<see cref="SearchSupport"/>), 77 unless
    /// negentropy is turned off.
    /// </summary>
    public static readonly int[] SupportedNips = [1, 9, 11, 13, 40, 42, 45, 62, 70];

    private readonly RelayOptions _options;
    private readonly bool _searchable;
    private volatile Built _built;

    public RelayInformation(RelayOptions options, SearchSupport? search = null)
    {
        _options = options;
        _searchable = search?.Enabled ?? false;
        _built = Make(null, null, null);
    }

    public byte[] Document => _built.Document;
    public string Name => _built.Name;
    public string Description => _built.Description;

    /// <summary>
    /// NIP-86's changerelayname and its siblings: the document as configured, with these in place (null: as
    /// configured); <paramref name="restrictsWrites"/> when an allow list made through NIP-86 restricts who publishes.
    /// </summary>
    public void Change(string? name, string? description, string? icon, bool restrictsWrites = false) =>
        _built = Make(name, description, icon, restrictsWrites);

    private Built Make(string? name, string? description, string? icon, bool restrictsWrites = false)
    {
        var document = Build(_options, _searchable);
        if (name is not null) document["name"] = name;
        if (description is not null) document["description"] = description;
        if (icon is not null) document["icon"] = icon;
        if (restrictsWrites && document["limitation"] is JsonObject limitation) limitation["restricted_writes"] = true;
        foreach (var rewrite in _options.RewriteInformation) rewrite(document);
        return new Built(JsonSerializer.SerializeToUtf8Bytes(document),
            document["name"]?.GetValue<string>() ?? _options.Name, document["description"]?.GetValue<string>() ?? _options.Description);
    }

    private sealed record Built(byte[] Document, string Name, string Description);

    private static JsonObject Build(RelayOptions options, bool searchable)
    {
        var version = typeof(RelayInformation).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.1.0";
        var plus = version.IndexOf('+');
        if (plus > 0) version = version[..plus];
        var limits = options.Limits;
        var lists = options.Policies;
        var document = new JsonObject
        {
            ["name"] = options.Name,
            ["description"] = options.Description,
        };
        Add(document, "banner", options.Banner);
        Add(document, "icon", options.Icon);
        Add(document, "pubkey", options.Pubkey);
        Add(document, "contact", options.Contact);
        var nips = new List<int>(SupportedNips);
        if (searchable) nips.Add(50);
        if (options.Negentropy.Enabled) nips.Add(77);
        if (options.Management.Admins is { Length: > 0 }) nips.Add(86);
        nips.Sort();
        document["supported_nips"] = new JsonArray([.. nips.Select(nip => (JsonNode)nip)]);
        Add(document, "software", options.Software);
        document["version"] = version;
        Add(document, "privacy_policy", options.PrivacyPolicy);
        Add(document, "terms_of_service", options.TermsOfService);
        var limitation = new JsonObject
        {
            ["max_message_length"] = limits.MaxMessageBytes,
            ["max_subscriptions"] = limits.MaxSubscriptions,
            ["max_filters"] = limits.MaxFilters,
            ["max_limit"] = limits.MaxLimit,
            ["max_subid_length"] = limits.MaxSubscriptionIdLength,
            ["max_event_tags"] = limits.MaxEventTags,
            ["max_content_length"] = limits.MaxContentLength,
            ["min_pow_difficulty"] = limits.MinPowDifficulty ?? 0,
            ["auth_required"] = options.Auth.Required,
            ["payment_required"] = false,
            // NIP-11: a condition to meet before writing, "including payment_required and min_pow_difficulty".
            ["restricted_writes"] = lists.AllowedPubkeys is not null || lists.AllowedKinds is not null || limits.MinPowDifficulty > 0 || options.Auth.Required,
        };
        if (limits.CreatedAtLowerLimit is { } lower) limitation["created_at_lower_limit"] = lower;
        if (limits.CreatedAtUpperLimit is { } upper) limitation["created_at_upper_limit"] = upper;
        limitation["default_limit"] = limits.DefaultLimit;
        if (options.Negentropy.Enabled)
        {
            // Not NIP-11 fields (it has none for NIP-77): the bounds a NEG-OPEN meets, for a client that plans its sync.
            limitation["negentropy_max_records"] = options.Negentropy.MaxRecords;
            limitation["negentropy_max_sessions"] = options.Negentropy.MaxSessions;
            limitation["negentropy_frame_size_limit"] = options.Negentropy.FrameSizeLimit;
        }
        document["limitation"] = limitation;
        if (options.Retention is { Count: > 0 } retention)
        {
            // Only what the purge enforces: kinds and a time (NIP-11 also knows a count, which this relay does not keep).
            var rules = new JsonArray();
            foreach (var rule in retention)
            {
                var node = new JsonObject();
                if (rule.Kinds is { Length: > 0 } kinds) node["kinds"] = new JsonArray([.. kinds.Select(kind => (JsonNode)kind)]);
                node["time"] = rule.Time;
                rules.Add(node);
            }
            document["retention"] = rules;
        }
        AddList(document, "relay_countries", options.RelayCountries);
        AddList(document, "language_tags", options.LanguageTags);
        AddList(document, "tags", options.Tags);
        Add(document, "posting_policy", options.PostingPolicy);
        Add(document, "payments_url", options.PaymentsUrl);
        if (options.Fees is { } fees)
        {
            var node = new JsonObject();
            AddFees(node, "admission", fees.Admission);
            AddFees(node, "subscription", fees.Subscription);
            AddFees(node, "publication", fees.Publication);
            document["fees"] = node;
        }
        return document;
    }

    private static void Add(JsonObject document, string name, string? value)
    {
        if (!string.IsNullOrEmpty(value)) document[name] = value;
    }

    private static void AddList(JsonObject document, string name, string[]? values)
    {
        if (values is { Length: > 0 }) document[name] = new JsonArray([.. values.Select(value => (JsonNode?)value)]);
    }

    private static void AddFees(JsonObject fees, string name, List<RelayFee>? list)
    {
        if (list is not { Count: > 0 }) return;
        var array = new JsonArray();
        foreach (var fee in list)
        {
            var node = new JsonObject { ["amount"] = fee.Amount, ["unit"] = fee.Unit };
            if (fee.Period is { } period) node["period"] = period;
            if (fee.Kinds is { Length: > 0 } kinds) node["kinds"] = new JsonArray([.. kinds.Select(kind => (JsonNode)kind)]);
            array.Add(node);
        }
        fees[name] = array;
    }
}
