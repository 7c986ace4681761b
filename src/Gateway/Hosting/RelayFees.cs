namespace NostrRelay.Hosting;

/// <summary>NIP-11 <c>fees</c>, as the operator states them; the relay publishes them and checks nothing.</summary>
public sealed class RelayFees
{
    public List<RelayFee>? Admission { get; set; }
    public List<RelayFee>? Subscription { get; set; }
    public List<RelayFee>? Publication { get; set; }
}
