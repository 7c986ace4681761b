using NostrRelay.Benchmarks.Reporting;

namespace NostrRelay.Benchmarks.Scenarios;

/// <summary>How a pipelined publish went: OK counts, wall time from first send to last OK, and OK latencies.</summary>
internal sealed record PublishOutcome(int Sent, int Accepted, int Rejected, TimeSpan Elapsed, Latencies Latencies, IReadOnlyList<string> Problems)
{
    public int Answered => Accepted + Rejected;

    public double AcceptedPerSecond => Accepted / Elapsed.TotalSeconds;
}
