using System.Diagnostics;

namespace NostrRelay.Benchmarks.Relay;

/// <summary>Finds the repository and builds src/Silo in Release, so a run always measures the code as it is checked out.</summary>
internal static class SiloBuild
{
    public const string SiloDllName = "NostrRelay.Silo.dll";

    /// <summary>The directory holding Orleans.sln, walking up from this program's own location.</summary>
    public static string FindRepository()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
            if (File.Exists(Path.Combine(directory.FullName, "Orleans.sln"))) return directory.FullName;
        throw new InvalidOperationException("Orleans.sln not found above " + AppContext.BaseDirectory + "; pass --repo <path>");
    }

    public static string DllPath(string repository) =>
        Path.Combine(repository, "src", "Silo", "bin", "Release", "net10.0", SiloDllName);

    /// <summary>Runs <c>dotnet build -c Release src/Silo</c>; incremental, so a few seconds when nothing changed.</summary>
    public static async Task BuildAsync(string repository)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = repository,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[] { "build", "-c", "Release", "src/Silo/Silo.csproj", "-nologo", "-v", "q", "-clp:ErrorsOnly" })
            start.ArgumentList.Add(argument);
        using var build = Process.Start(start) ?? throw new InvalidOperationException("dotnet build did not start");
        var output = build.StandardOutput.ReadToEndAsync();
        var errors = build.StandardError.ReadToEndAsync();
        await build.WaitForExitAsync();
        if (build.ExitCode != 0)
            throw new InvalidOperationException($"dotnet build -c Release src/Silo failed ({build.ExitCode}):{Environment.NewLine}{await output}{await errors}");
    }

    /// <summary>The checked-out commit, with "+dirty" when the work tree has changes, or "unknown" without git.</summary>
    public static string DescribeCommit(string repository)
    {
        try
        {
            var commit = Git(repository, "rev-parse", "--short=10", "HEAD").Trim();
            var dirty = Git(repository, "status", "--porcelain", "--untracked-files=no", "--", "src").Trim().Length > 0;
            return commit.Length == 0 ? "unknown" : dirty ? commit + "+dirty (src)" : commit;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return "unknown";
        }
    }

    private static string Git(string repository, params string[] arguments)
    {
        var start = new ProcessStartInfo("git") { WorkingDirectory = repository, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        using var git = Process.Start(start)!;
        var text = git.StandardOutput.ReadToEnd();
        git.WaitForExit();
        return git.ExitCode == 0 ? text : "";
    }
}
