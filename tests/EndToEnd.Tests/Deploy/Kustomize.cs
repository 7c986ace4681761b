using System.ComponentModel;
using System.Diagnostics;
using YamlDotNet.RepresentationModel;

namespace NostrRelay.EndToEnd.Tests.Deploy;

/// <summary>
/// Renders a kustomization with <c>kubectl kustomize</c>, which needs no cluster. kubectl is part of the machine
/// image the tests run on; without it these tests fail, they do not skip.
/// </summary>
internal static class Kustomize
{
    public static IReadOnlyList<YamlMappingNode> Render(string directory)
    {
        var start = new ProcessStartInfo("kubectl") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add("kustomize");
        start.ArgumentList.Add(directory);
        Process process;
        try
        {
            process = Process.Start(start)!;
        }
        catch (Win32Exception e)
        {
            throw new InvalidOperationException(
                "kubectl is not on PATH: the deploy tests render deploy/kubernetes with `kubectl kustomize` (no cluster needed). " +
                "Install kubectl (it ships kustomize) and run them again.", e);
        }
        using (process)
        {
            var output = process.StandardOutput.ReadToEndAsync();
            var errors = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(TimeSpan.FromSeconds(60)))
            {
                process.Kill(entireProcessTree: true);
                throw new TimeoutException($"kubectl kustomize {directory} did not finish within 60 s.");
            }
            if (process.ExitCode != 0)
                throw new InvalidOperationException($"kubectl kustomize {directory} exited with {process.ExitCode}:\n{errors.Result}");
            return Yaml.LoadDocuments(output.Result);
        }
    }
}
