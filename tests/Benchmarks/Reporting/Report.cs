using System.Globalization;

namespace NostrRelay.Benchmarks.Reporting;

/// <summary>
/// What a run found: one markdown table row per figure (same wording as research/peers-measured.md where the
/// measurement is the same), notes on how it was measured, and problems (relay warnings, rejections,
/// stalls, lost or doubled deliveries), which a clean run has none of.
/// </summary>
internal sealed class Report
{
    private readonly List<(string Figure, string Value)> _rows = [];
    private readonly List<(string[] Header, List<string[]> Rows)> _tables = [];
    private readonly List<string> _notes = [];
    private readonly List<string> _problems = [];

    public IReadOnlyList<string> Problems => _problems;

    public void Row(string figure, string value)
    {
        _rows.Add((figure, value));
        Console.Error.WriteLine($"  | {figure} | {value} |");
    }

    /// <summary>A table of its own, printed after the figure/value rows: for figures taken at several sizes (one column each).</summary>
    public void Table(string[] header, List<string[]> rows)
    {
        _tables.Add((header, rows));
        Console.Error.WriteLine("  | " + string.Join(" | ", header) + " |");
        foreach (var row in rows) Console.Error.WriteLine("  | " + string.Join(" | ", row) + " |");
    }

    public void Note(string note) => _notes.Add(note);

    public void Problem(string problem)
    {
        _problems.Add(problem);
        Console.Error.WriteLine("  PROBLEM: " + problem);
    }

    public void Write(TextWriter output, IEnumerable<string> environment)
    {
        output.WriteLine();
        foreach (var line in environment) output.WriteLine(line);
        output.WriteLine();
        if (_rows.Count > 0 || _tables.Count == 0)
        {
            output.WriteLine("| figure | this relay |");
            output.WriteLine("|---|---|");
            foreach (var (figure, value) in _rows) output.WriteLine($"| {figure} | {value} |");
        }
        foreach (var (header, rows) in _tables)
        {
            output.WriteLine();
            output.WriteLine("| " + string.Join(" | ", header) + " |");
            output.WriteLine("|" + string.Concat(Enumerable.Repeat("---|", header.Length)));
            foreach (var row in rows) output.WriteLine("| " + string.Join(" | ", row) + " |");
        }
        if (_notes.Count > 0)
        {
            output.WriteLine();
            foreach (var note in _notes) output.WriteLine("- " + note);
        }
        output.WriteLine();
        if (_problems.Count == 0)
        {
            output.WriteLine("Problems: none (no relay warnings or errors, no rejections, stalls, lost or duplicate deliveries).");
        }
        else
        {
            output.WriteLine($"Problems ({_problems.Count}):");
            foreach (var problem in _problems) output.WriteLine("- " + problem);
        }
    }

    public static string Count(double value) => value.ToString("N0", CultureInfo.InvariantCulture);

    public static string Ms(double value) => double.IsNaN(value) ? "n/a"
        : value < 10 ? value.ToString("0.00", CultureInfo.InvariantCulture)
        : value.ToString("N0", CultureInfo.InvariantCulture);

    public static string Fixed(double value, string format) => value.ToString(format, CultureInfo.InvariantCulture);
}
