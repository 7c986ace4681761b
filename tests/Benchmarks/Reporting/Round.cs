namespace NostrRelay.Benchmarks.Reporting;

/// <summary>
/// The figures of one round of a scenario. A scenario runs several rounds and reports the median one whole
/// (its rows belong together: throughput, CPU and latency of the same run), ranked by <see cref="Key"/>.
/// </summary>
internal sealed class Round(double key, string keyText)
{
    public double Key { get; } = key;
    public string KeyText { get; } = keyText;
    public List<(string Figure, string Value)> Rows { get; } = [];
    public List<string> Notes { get; } = [];

    public void Row(string figure, string value) => Rows.Add((figure, value));

    public void Note(string note) => Notes.Add(note);

    /// <summary>Writes the median round to the report, with every round's key so the spread is visible.</summary>
    public static void ReportMedian(Report report, string scenario, string keyLabel, List<Round> rounds)
    {
        if (rounds.Count == 0) return;
        var ranked = rounds.OrderBy(r => r.Key).ToList();
        var median = ranked[(ranked.Count - 1) / 2];
        foreach (var (figure, value) in median.Rows) report.Row(figure, value);
        foreach (var note in median.Notes) report.Note(note);
        if (rounds.Count > 1)
            report.Note($"{scenario}: median of {rounds.Count} rounds by {keyLabel}; per round in run order: {string.Join(" / ", rounds.Select(r => r.KeyText))}.");
    }
}
