using NostrRelay.Crypto;
using NostrRelay.Hosting;
using NostrRelay.Policies;
using NostrRelay.Protocol;
using NostrRelay.Storage.Transfer;

namespace NostrRelay.Silo.Hosting;

/// <summary>
/// Operator commands that work on the configured store without starting the relay:
/// <c>export &gt; all.jsonl</c> writes every event as JSONL; <c>import &lt; all.jsonl</c> verifies and stores
/// each line. Progress goes to stderr, so stdout stays the data.
/// </summary>
internal static class RelayCommands
{
    public static bool IsCommand(string[] args) => args.Length > 0 && args[0] is "export" or "import";

    public static async Task<int> RunAsync(string[] args)
    {
        var builder = WebApplication.CreateBuilder(args[1..]);
        var store = EventStoreFactory.Create(builder.Configuration.GetSection("Relay:Store"), builder.Environment.ContentRootPath);
        await store.InitAsync();
        var progress = new TransferProgress();
        using var ticker = new Timer(_ => Console.Error.Write($"\r{args[0]}: {progress}   "), null, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
        try
        {
            if (args[0] == "export")
            {
                await using var stdout = Console.OpenStandardOutput();
                await EventExporter.ExportAsync(store, stdout, progress);
                await ticker.DisposeAsync();
                Console.Error.WriteLine($"\rexport: {progress.Accepted:N0} events written");
                return 0;
            }
            var verifier = new EventVerifier(SchnorrVerifier.Default);
            using var stdin = new StreamReader(Console.OpenStandardInput(), System.Text.Encoding.UTF8);
            var importer = new EventImporter(store, verifier, admit: ImportModeration(builder.Configuration.GetSection("Relay:Policies")));
            await importer.ImportAsync(stdin, progress, (line, reason) => Console.Error.WriteLine($"\rline {line}: {reason}"));
            await ticker.DisposeAsync();
            Console.Error.WriteLine($"\rimport: {progress}");
            return 0;
        }
        finally
        {
            await store.DisposeAsync();
        }
    }

    /// <summary>The moderation lists and NIP-40 expiry, as the gateway applies them to clients.</summary>
    private static Func<NostrEvent, string?> ImportModeration(IConfiguration policies)
    {
        var lists = policies.Get<RelayPolicyOptions>() ?? new RelayPolicyOptions();
        var checks = PolicyPipeline.Moderation(lists);
        checks.Add(EventPolicies.NotExpired());
        var importer = new ClientContext(0, null);
        return evt =>
        {
            foreach (var check in checks)
                if (check(evt, importer).Message is { } refused) return refused;
            return null;
        };
    }
}
