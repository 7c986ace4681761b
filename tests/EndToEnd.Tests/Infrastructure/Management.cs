using System.Diagnostics;
using System.Text.Json;

namespace NostrRelay.EndToEnd.Tests.Infrastructure;

/// <summary>NIP-86 calls made by nostr-tools' NIP-98 helper (tests/js/manage.mjs), and what the relay answered.</summary>
public static class Management
{
    public sealed record Answer(int Status, JsonElement Body)
    {
        public JsonElement Result => Body.GetProperty("result");
        public string? Error => Body.ValueKind == JsonValueKind.Object && Body.TryGetProperty("error", out var error) ? error.GetString() : null;

        public override string ToString() => $"{Status} {Body.GetRawText()}";
    }

    /// <param name="calls">Each: method, params, and optionally how to break the authorization (see manage.mjs).</param>
    public static async Task<List<Answer>> CallAsync(Uri relay, string secretKey, params object[] calls)
    {
        var start = new ProcessStartInfo("node")
        {
            WorkingDirectory = Path.Combine(RepositoryRoot.Path, "tests", "js"),
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in new[] { "manage.mjs", relay.ToString(), secretKey, JsonSerializer.Serialize(calls) }) start.ArgumentList.Add(argument);
        using var node = Process.Start(start)!;
        var output = node.StandardOutput.ReadToEndAsync();
        var errors = node.StandardError.ReadToEndAsync();
        await node.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        Assert.True(node.ExitCode == 0, await errors);
        return [.. JsonDocument.Parse(await output).RootElement.EnumerateArray().Select(a => new Answer(a.GetProperty("status").GetInt32(), a.GetProperty("body")))];
    }

    public static object Call(string method, params object[] parameters) => new { method, @params = parameters };

    public static object Broken(string method, string auth, params object[] parameters) => new { method, @params = parameters, auth };

    /// <summary>A call posted to <paramref name="post"/>, signed for the relay URL <paramref name="u"/>, or replaying the previous call's header.</summary>
    public static object Routed(string method, Uri post, string u, bool replay = false, params object[] parameters) =>
        replay ? new { method, @params = parameters, post = post.ToString(), u, auth = "replay" } : new { method, @params = parameters, post = post.ToString(), u };
}
