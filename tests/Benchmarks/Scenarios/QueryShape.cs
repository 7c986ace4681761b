namespace NostrRelay.Benchmarks.Scenarios;

/// <summary>One kind of REQ: a label for the report, a sub id prefix and a filter maker (random parts drawn from a seeded Random).</summary>
internal sealed record QueryShape(string Label, string Prefix, Func<Random, string> Filter);
