using System.Diagnostics;
using NostrRelay.EndToEnd.Tests.Infrastructure;

namespace NostrRelay.EndToEnd.Tests.Deploy;

/// <summary>
/// What `dotnet publish src/Silo -c Release` (the command deploy/Dockerfile runs for the image) leaves: the native
/// libraries of one platform (linux-x64) and nothing the relay does not load, at most 90 MB.
/// </summary>
public sealed class PublishFolderTests
{
    [Fact]
    public async Task the_published_relay_carries_linux_x64_natives_only_and_no_compiler()
    {
        var folder = Directory.CreateTempSubdirectory("relay-publish-");
        try
        {
            var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = RepositoryRoot.Path };
            foreach (var arg in new[] { "publish", "src/Silo", "-c", "Release", "--no-build", "-nologo", "-v", "quiet", "-o", folder.FullName })
                start.ArgumentList.Add(arg);
            using var publish = Process.Start(start)!;
            var output = publish.StandardOutput.ReadToEndAsync();
            var errors = publish.StandardError.ReadToEndAsync();
            await publish.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(3));
            Assert.True(publish.ExitCode == 0, await output + await errors);

            var files = folder.EnumerateFiles("*", SearchOption.AllDirectories).ToList();
            var megabytes = files.Sum(f => f.Length) / 1_000_000.0;
            var runtimes = Directory.GetDirectories(Path.Combine(folder.FullName, "runtimes")).Select(Path.GetFileName);

            Assert.True(File.Exists(Path.Combine(folder.FullName, "NostrRelay.Silo.dll")));
            Assert.Equal(["linux-x64"], runtimes);
            Assert.Contains(files, f => f.Name == "librocksdb.so");
            Assert.Contains(files, f => f.Name == "libe_sqlite3.so");
            Assert.DoesNotContain(files, f => f.Name.StartsWith("Microsoft.CodeAnalysis", StringComparison.Ordinal)
                || f.Name.StartsWith("Humanizer", StringComparison.Ordinal) || f.Name.StartsWith("System.Composition", StringComparison.Ordinal));
            Assert.True(megabytes <= 90, $"{megabytes:0.0} MB published");
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }
}
