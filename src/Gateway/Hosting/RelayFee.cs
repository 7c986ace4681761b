namespace NostrRelay.Hosting;

/// <summary>One NIP-11 fee: an amount in a unit (msats unless said), for a period in seconds or for some kinds.</summary>
public sealed class RelayFee
{
    public long Amount { get; set; }
    public string Unit { get; set; } = "msats";
    public long? Period { get; set; }
    public int[]? Kinds { get; set; }
}
