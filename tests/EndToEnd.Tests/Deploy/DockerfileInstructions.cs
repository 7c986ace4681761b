namespace NostrRelay.EndToEnd.Tests.Deploy;

/// <summary>
/// A Dockerfile read as its build stages: continuation lines joined, comment lines dropped, each instruction
/// split into its keyword and arguments. Enough to check what the file says, not a full parser.
/// </summary>
internal sealed class DockerfileInstructions
{
    public sealed record Instruction(string Keyword, string Arguments);

    public sealed record Stage(string From, string? Name, IReadOnlyList<Instruction> Instructions)
    {
        public IEnumerable<string> Arguments(string keyword) =>
            Instructions.Where(i => i.Keyword == keyword).Select(i => i.Arguments);
    }

    public IReadOnlyList<Stage> Stages { get; }

    public Stage Final => Stages[^1];

    private DockerfileInstructions(IReadOnlyList<Stage> stages) => Stages = stages;

    public static DockerfileInstructions Parse(string text)
    {
        var instructions = new List<Instruction>();
        var pending = "";
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.TrimEnd('\r');
            if (line.TrimStart().StartsWith('#')) continue;
            if (line.EndsWith('\\'))
            {
                pending += line[..^1] + " ";
                continue;
            }
            var whole = (pending + line).Trim();
            pending = "";
            if (whole.Length == 0) continue;
            var space = whole.IndexOfAny([' ', '\t']);
            instructions.Add(space < 0
                ? new Instruction(whole.ToUpperInvariant(), "")
                : new Instruction(whole[..space].ToUpperInvariant(), whole[(space + 1)..].Trim()));
        }

        var stages = new List<Stage>();
        for (var i = 0; i < instructions.Count; i++)
        {
            if (instructions[i].Keyword != "FROM") continue;
            var from = instructions[i].Arguments.Split(' ', StringSplitOptions.RemoveEmptyEntries).Where(w => !w.StartsWith("--")).ToArray();
            var name = from.Length >= 3 && from[^2].Equals("AS", StringComparison.OrdinalIgnoreCase) ? from[^1] : null;
            var body = instructions.Skip(i + 1).TakeWhile(x => x.Keyword != "FROM").ToList();
            stages.Add(new Stage(from[0], name, body));
        }
        return new DockerfileInstructions(stages);
    }
}
