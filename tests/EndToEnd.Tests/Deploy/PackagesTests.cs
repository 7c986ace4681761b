using System.Diagnostics;
using System.IO.Compression;
using System.Xml.Linq;
using NostrRelay.EndToEnd.Tests.Infrastructure;

namespace NostrRelay.EndToEnd.Tests.Deploy;

/// <summary>
/// <c>dotnet pack Orleans.sln</c> makes NuGet packages of the libraries an embedder references (abstractions, grains,
/// gateway), not of the relay's executable; and samples/EmbeddedRelay builds against those packages from a folder
/// feed, as a developer outside this repository would build it.
/// </summary>
public sealed class PackagesTests
{
    private static async Task<(int ExitCode, string Output)> RunAsync(string workingDirectory, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = workingDirectory };
        foreach (var arg in args) start.ArgumentList.Add(arg);
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        try
        {
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(5));
        }
        catch (TimeoutException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }
        return (process.ExitCode, await output + await errors);
    }

    /// <summary>The version prefix src/Directory.Build.props gives the packages.</summary>
    private static string VersionPrefix() =>
        System.Xml.Linq.XDocument.Load(Path.Combine(RepositoryRoot.Path, "src", "Directory.Build.props")).Descendants()
            .Single(e => e.Name.LocalName == "VersionPrefix").Value;

    /// <summary>Where restored packages go: NUGET_PACKAGES when set, else the user's default.</summary>
    private static string PackagesFolder() =>
        Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } configured ? configured
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");

    [Fact]
    public async Task the_libraries_are_packed_and_the_embedded_sample_builds_from_them()
    {
        var root = Directory.CreateTempSubdirectory("relay-packages-");
        var suffix = "test." + Guid.NewGuid().ToString("N")[..8];   // a version no cache holds yet
        var feed = Path.Combine(root.FullName, "feed");
        var version = $"{VersionPrefix()}-{suffix}";
        try
        {
            var pack = await RunAsync(RepositoryRoot.Path, "pack", "Orleans.sln", "-c", "Release", "--no-build", "-nologo", "-v", "quiet", "-nodeReuse:false", "-o", feed, $"-p:VersionSuffix={suffix}");
            Assert.True(pack.ExitCode == 0, pack.Output);
            var packages = Directory.GetFiles(feed, "*.nupkg").Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList();
            Assert.Equal(new[] { "NostrRelay.Gateway", "NostrRelay.Grains", "NostrRelay.Grains.Abstractions" }.Select(id => $"{id}.{version}.nupkg").Order(StringComparer.Ordinal), packages);
            foreach (var package in packages)
            {
                using var zip = ZipFile.OpenRead(Path.Combine(feed, package!));
                var nuspec = XDocument.Load(zip.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal)).Open());
                string? Field(string name) => nuspec.Descendants().FirstOrDefault(e => e.Name.LocalName == name)?.Value;
                Assert.False(string.IsNullOrWhiteSpace(Field("description")), package);
                Assert.Equal("README.md", Field("readme"));
                Assert.Contains(zip.Entries, e => e.FullName == "README.md");
                Assert.Contains(zip.Entries, e => e.FullName.EndsWith(".xml", StringComparison.Ordinal) && e.FullName.StartsWith("lib/", StringComparison.Ordinal));
            }

            // The sample as a developer elsewhere has it: its code, a project that references the packages, the feed.
            var sample = Directory.CreateDirectory(Path.Combine(root.FullName, "EmbeddedRelay")).FullName;
            foreach (var file in Directory.GetFiles(Path.Combine(RepositoryRoot.Path, "samples", "EmbeddedRelay")))
                if (!file.EndsWith(".csproj", StringComparison.Ordinal)) File.Copy(file, Path.Combine(sample, Path.GetFileName(file)));
            await File.WriteAllTextAsync(Path.Combine(sample, "EmbeddedRelay.csproj"), $"""
                <Project Sdk="Microsoft.NET.Sdk.Web">
                  <PropertyGroup>
                    <TargetFramework>net10.0</TargetFramework>
                    <Nullable>enable</Nullable>
                    <ImplicitUsings>enable</ImplicitUsings>
                  </PropertyGroup>
                  <ItemGroup>
                    <PackageReference Include="Microsoft.Orleans.Server" Version="10.4.2" />
                    <PackageReference Include="NostrRelay.Grains" Version="{version}" />
                    <PackageReference Include="NostrRelay.Gateway" Version="{version}" />
                  </ItemGroup>
                </Project>
                """);
            await File.WriteAllTextAsync(Path.Combine(root.FullName, "nuget.config"), $"""
                <?xml version="1.0" encoding="utf-8"?>
                <configuration>
                  <packageSources>
                    <!-- Only the feed and what this machine already restored: no network, no other source to fail. -->
                    <clear />
                    <add key="relay-packages" value="{feed}" />
                    <add key="restored" value="{PackagesFolder()}" />
                  </packageSources>
                </configuration>
                """);
            var build = await RunAsync(sample, "build", "-c", "Release", "-nologo", "-v", "quiet", "-nodeReuse:false", "-p:UseSharedCompilation=false");
            Assert.True(build.ExitCode == 0, build.Output);
            Assert.True(File.Exists(Path.Combine(sample, "bin", "Release", "net10.0", "EmbeddedRelay.dll")));
        }
        finally
        {
            root.Delete(recursive: true);
            // The test's own version, out of the machine's package cache again.
            foreach (var id in new[] { "nostrrelay.gateway", "nostrrelay.grains", "nostrrelay.grains.abstractions" })
            {
                var cached = Path.Combine(PackagesFolder(), id, version);
                if (Directory.Exists(cached)) Directory.Delete(cached, recursive: true);
            }
        }
    }
}
