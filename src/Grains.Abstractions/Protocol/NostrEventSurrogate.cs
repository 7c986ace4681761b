namespace NostrRelay.Protocol;

/// <summary>
/// How Orleans writes a <see cref="NostrEvent"/> to another silo: its seven fields and its bytes, under the member ids
/// the positional record of earlier builds had, so the bytes are the same and silos of both builds exchange events
/// during a rolling upgrade. A stored event not yet read whole is read before it is sent; one received arrives whole.
/// </summary>
[GenerateSerializer, Immutable, Alias("nostr.event.wire")]
public readonly record struct NostrEventSurrogate(
    [property: Id(0)] string Id,
    [property: Id(1)] string Pubkey,
    [property: Id(2)] long CreatedAt,
    [property: Id(3)] int Kind,
    [property: Id(4)] string[][] Tags,
    [property: Id(5)] string Content,
    [property: Id(6)] string Sig,
    [property: Id(7)] byte[] Json);

[RegisterConverter]
public sealed class NostrEventSurrogateConverter : IConverter<NostrEvent, NostrEventSurrogate>
{
    public NostrEvent ConvertFromSurrogate(in NostrEventSurrogate surrogate) =>
        new(surrogate.Id, surrogate.Pubkey, surrogate.CreatedAt, surrogate.Kind, surrogate.Tags, surrogate.Content, surrogate.Sig, surrogate.Json);

    public NostrEventSurrogate ConvertToSurrogate(in NostrEvent value) =>
        new(value.Id, value.Pubkey, value.CreatedAt, value.Kind, value.Tags, value.Content, value.Sig, value.Json);
}
