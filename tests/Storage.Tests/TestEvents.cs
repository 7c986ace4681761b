using System.Security.Cryptography;
using System.Text;
using NostrRelay.Protocol;

namespace NostrRelay.Storage.Tests;

/// <summary>
/// Real-looking events for store tests: the id is the real NIP-01 hash of the fields, the signature is a
/// placeholder (stores never verify), and the JSON is what the relay would store.
/// </summary>
internal static class TestEvents
{
    public static readonly string DummySig = string.Concat(Enumerable.Repeat("5a", 64));

    /// <summary>A stable 64-hex pubkey for a name, so tests read as "alice" and "bob".</summary>
    public static string Pubkey(string name) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(name)));

    public static NostrEvent Create(string pubkey, long createdAt, int kind = EventKind.TextNote, string[][]? tags = null, string content = "")
    {
        tags ??= [];
        var id = CanonicalJson.ComputeIdHex(pubkey, createdAt, kind, tags, content);
        return CanonicalJson.CreateEvent(id, pubkey, createdAt, kind, tags, content, DummySig);
    }

    public static string[] Tag(string name, params string[] values) => [name, .. values];
}
