using System.Reflection;
using System.Text.Json;
using NostrRelay.Hosting;

namespace NostrRelay.Information;

/// <summary>The NIP-11 relay information document, rendered once from the options in force.</summary>
internal sealed class RelayInformation
{
    /// <summary>Only the NIPs that work end to end today.</summary>
    public static readonly int[] SupportedNips = [1, 11];

    public RelayInformation(RelayOptions options)
    {
        var version = typeof(RelayInformation).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.1.0";
        var plus = version.IndexOf('+');
        if (plus > 0) version = version[..plus];
        var limits = options.Limits;
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("name", options.Name);
            json.WriteString("description", options.Description);
            if (options.Pubkey is { } pubkey) json.WriteString("pubkey", pubkey);
            if (options.Contact is { } contact) json.WriteString("contact", contact);
            if (options.Icon is { } icon) json.WriteString("icon", icon);
            json.WriteStartArray("supported_nips");
            foreach (var nip in SupportedNips) json.WriteNumberValue(nip);
            json.WriteEndArray();
            json.WriteString("software", "NostrRelay.Orleans");
            json.WriteString("version", version);
            json.WriteStartObject("limitation");
            json.WriteNumber("max_message_length", limits.MaxMessageBytes);
            json.WriteNumber("max_subscriptions", limits.MaxSubscriptions);
            json.WriteNumber("max_filters", limits.MaxFilters);
            json.WriteNumber("max_limit", limits.MaxLimit);
            json.WriteNumber("default_limit", limits.DefaultLimit);
            json.WriteNumber("max_subid_length", limits.MaxSubscriptionIdLength);
            json.WriteNumber("max_event_tags", limits.MaxEventTags);
            json.WriteNumber("max_content_length", limits.MaxContentLength);
            json.WriteBoolean("auth_required", false);
            json.WriteBoolean("payment_required", false);
            json.WriteBoolean("restricted_writes", false);
            json.WriteEndObject();
            json.WriteEndObject();
        }
        Document = buffer.WrittenSpan.ToArray();
        Name = options.Name;
        Description = options.Description;
    }

    public byte[] Document { get; }
    public string Name { get; }
    public string Description { get; }
}
