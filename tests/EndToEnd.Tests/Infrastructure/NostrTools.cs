using System.Diagnostics;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace NostrRelay.EndToEnd.Tests.Infrastructure;

/// <summary>An event as nostr-tools' finalizeEvent signed it.</summary>
public sealed record SignedEvent(string Id, string Pubkey, long CreatedAt, int Kind, string Json)
{
    public JsonElement Element => JsonDocument.Parse(Json).RootElement;
}

/// <summary>
/// The reference client, nostr-tools, in a long-running Node process (tests/js/sign.mjs): every event
/// in these tests is signed by it, so ids and signatures are what real clients produce.
/// </summary>
public sealed class NostrTools : IAsyncDisposable
{
    private readonly Process _node;
    private readonly SemaphoreSlim _gate = new(1, 1);

    private NostrTools(Process node) => _node = node;

    public static NostrTools Start()
    {
        var js = Path.Combine(RepositoryRoot.Path, "tests", "js");
        var start = new ProcessStartInfo("node", "sign.mjs")
        {
            WorkingDirectory = js,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        var node = Process.Start(start) ?? throw new InvalidOperationException("node did not start");
        return new NostrTools(node);
    }

    public static string NewSecretKey() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));

    public async Task<SignedEvent> SignAsync(string secretKey, int kind, string content = "", string[][]? tags = null, long? createdAt = null)
    {
        var template = Template(kind, content, tags, createdAt ?? DateTimeOffset.UtcNow.ToUnixTimeSeconds());
        return Parse(await AskAsync(new JsonObject { ["sk"] = secretKey, ["event"] = template }.ToJsonString()));
    }

    /// <summary>
    /// NIP-13: an event whose id has at least <paramref name="difficulty"/> leading zero bits, mined by nostr-tools
    /// with a <c>["nonce", n, target]</c> tag. The target is <paramref name="commit"/> when given, else the difficulty;
    /// created_at is the time of mining unless a commitment is given (then it is <paramref name="createdAt"/> or now).
    /// </summary>
    public async Task<SignedEvent> MineAsync(string secretKey, int kind, int difficulty, int? commit = null, string content = "", long? createdAt = null)
    {
        var request = new JsonObject
        {
            ["op"] = "mine",
            ["sk"] = secretKey,
            ["event"] = Template(kind, content, null, createdAt ?? DateTimeOffset.UtcNow.ToUnixTimeSeconds()),
            ["difficulty"] = difficulty,
        };
        if (commit is { } target) request["commit"] = target;
        return Parse(await AskAsync(request.ToJsonString()));
    }

    /// <summary>JavaScript numbers are exact only up to 2^53, so a later created_at goes as digits and is signed exactly.</summary>
    private static JsonObject Template(int kind, string content, string[][]? tags, long createdAt) => new()
    {
        ["kind"] = kind,
        ["created_at"] = createdAt <= MaxSafeInteger ? JsonValue.Create(createdAt) : JsonValue.Create(createdAt.ToString(System.Globalization.CultureInfo.InvariantCulture)),
        ["tags"] = JsonSerializer.SerializeToNode(tags ?? []),
        ["content"] = content,
    };

    private const long MaxSafeInteger = (1L << 53) - 1;

    private static SignedEvent Parse(string line)
    {
        var evt = JsonDocument.Parse(line).RootElement;
        if (evt.TryGetProperty("error", out var error)) throw new InvalidOperationException("nostr-tools: " + error.GetString());
        return new SignedEvent(evt.GetProperty("id").GetString()!, evt.GetProperty("pubkey").GetString()!,
            evt.GetProperty("created_at").GetInt64(), evt.GetProperty("kind").GetInt32(), line);
    }

    /// <summary>A NIP-42 AUTH event made by nostr-tools' <c>makeAuthEvent(relay, challenge)</c> and signed.</summary>
    public async Task<SignedEvent> AuthAsync(string secretKey, string relay, string challenge, long? createdAt = null)
    {
        var request = new JsonObject { ["op"] = "auth", ["sk"] = secretKey, ["relay"] = relay, ["challenge"] = challenge };
        if (createdAt is { } at) request["created_at"] = at;
        var line = await AskAsync(request.ToJsonString());
        var evt = JsonDocument.Parse(line).RootElement;
        if (evt.TryGetProperty("error", out var error)) throw new InvalidOperationException("nostr-tools: " + error.GetString());
        return new SignedEvent(evt.GetProperty("id").GetString()!, evt.GetProperty("pubkey").GetString()!,
            evt.GetProperty("created_at").GetInt64(), evt.GetProperty("kind").GetInt32(), line);
    }

    public async Task<string> PublicKeyAsync(string secretKey)
    {
        var line = await AskAsync(new JsonObject { ["op"] = "pubkey", ["sk"] = secretKey }.ToJsonString());
        return JsonDocument.Parse(line).RootElement.GetProperty("pubkey").GetString()!;
    }

    private async Task<string> AskAsync(string request)
    {
        await _gate.WaitAsync();
        try
        {
            await _node.StandardInput.WriteLineAsync(request);
            await _node.StandardInput.FlushAsync();
            var line = await _node.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(20));
            if (line is null) throw new InvalidOperationException("nostr-tools signer exited: " + await _node.StandardError.ReadToEndAsync());
            return line;
        }
        finally
        {
            _gate.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            _node.StandardInput.Close();
            await _node.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(5));
        }
        catch (TimeoutException) { _node.Kill(); }
        _node.Dispose();
    }
}
