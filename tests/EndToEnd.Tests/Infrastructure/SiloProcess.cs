using System.Diagnostics;

namespace NostrRelay.EndToEnd.Tests.Infrastructure;

/// <summary>The relay as operators run it: the built src/Silo in its own process.</summary>
public sealed class SiloProcess : IDisposable
{
    private readonly Process _process;

    private readonly System.Text.StringBuilder _log;

    private SiloProcess(Process process, System.Text.StringBuilder log)
    {
        _process = process;
        _log = log;
    }

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>src/Silo's build output of the same configuration as these tests.</summary>
    public static string SiloDll
    {
        get
        {
            var configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}") ? "Release" : "Debug";
            return Path.Combine(RepositoryRoot.Path, "src", "Silo", "bin", configuration, "net10.0", "NostrRelay.Silo.dll");
        }
    }

    /// <summary>
    /// The folder `dotnet publish src/Silo` made, as deploy/Dockerfile makes it for the image: test.sh publishes
    /// it and names it in RELAY_TEST_PUBLISHED_SILO. Without it, the build output stands in.
    /// </summary>
    public static string PublishedSiloDll =>
        Environment.GetEnvironmentVariable("RELAY_TEST_PUBLISHED_SILO") is { Length: > 0 } published
            ? Path.Combine(Path.GetFullPath(published, RepositoryRoot.Path), "NostrRelay.Silo.dll")
            : SiloDll;

    public static Task<SiloProcess> StartAsync(params string[] args) => StartAsync(SiloDll, workingDirectory: null, args);

    /// <summary>Starts <paramref name="dll"/>; with a working directory it runs there, as the image runs in /app.</summary>
    public static async Task<SiloProcess> StartAsync(string dll, string? workingDirectory, string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        if (workingDirectory is not null) start.WorkingDirectory = workingDirectory;
        start.ArgumentList.Add(dll);
        foreach (var arg in args) start.ArgumentList.Add(arg);
        // Unless a test asks for its own log levels on the command line.
        if (!args.Any(a => a.StartsWith("--Logging:LogLevel:Default=", StringComparison.Ordinal))) start.Environment["Logging__LogLevel__Default"] = "Warning";
        // The relay decides this itself; an in-process relay of these tests set it in this process's environment.
        start.Environment.Remove("DOTNET_USE_POLLING_FILE_WATCHER");
        var process = Process.Start(start)!;
        var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var log = new System.Text.StringBuilder();
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (log) log.AppendLine(e.Data);
            if (e.Data.Contains("Nostr relay listening on", StringComparison.Ordinal) || e.Data.Contains("Silo health endpoints on", StringComparison.Ordinal))
                ready.TrySetResult();
        };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (log) log.AppendLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var exited = process.WaitForExitAsync();
        if (await Task.WhenAny(ready.Task, exited, Task.Delay(TimeSpan.FromSeconds(60))) != ready.Task)
        {
            try { process.Kill(true); } catch (InvalidOperationException) { }
            lock (log) throw new InvalidOperationException("relay process did not start:\n" + log);
        }
        return new SiloProcess(process, log);
    }

    /// <summary>What the process wrote to stdout and stderr so far.</summary>
    public string Log
    {
        get { lock (_log) return _log.ToString(); }
    }

    /// <summary>SIGKILL, as a crash or the OOM killer would.</summary>
    public void Kill()
    {
        _process.Kill(entireProcessTree: true);
        _process.WaitForExit();
    }

    /// <summary>SIGTERM, as systemd or Kubernetes would.</summary>
    public void Terminate() => Process.Start("kill", ["-TERM", _process.Id.ToString()])!.WaitForExit();

    public Task WaitForExitAsync(TimeSpan timeout) => _process.WaitForExitAsync().WaitAsync(timeout);

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            try { _process.Kill(true); _process.WaitForExit(); } catch (InvalidOperationException) { }
        }
        _process.Dispose();
    }
}
