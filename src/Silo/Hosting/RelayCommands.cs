using NostrRelay.Crypto;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
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
        ConfigurationFileWatch.PollInsteadOfWatching();   // an import writes the store as fast as it can
        var builder = WebApplication.CreateBuilder(args[1..]);
        var store = EventStoreFactory.Create(builder.Configuration.GetSection("Relay:Store"), builder.Environment.ContentRootPath,
            readOnly: args[0] == "export");
        try
        {
            await store.InitAsync();
        }
        catch (InvalidOperationException ex)   // a file this build cannot open as asked, e.g. one to convert first
        {
            Console.Error.WriteLine($"{args[0]}: {ex.Message}");
            await store.DisposeAsync();
            return 1;
        }
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
            var relay = builder.Configuration.GetSection("Relay").Get<RelayOptions>() ?? new RelayOptions();
            await using var plugin = relay.Policies.Plugin is { Length: > 0 }
                ? new WritePolicyPlugin(Options.Create(relay), TimeProvider.System, NullLogger<WritePolicyPlugin>.Instance)
                : null;
            var importer = new EventImporter(store, verifier, admit: ImportPolicies(relay.Policies, plugin));
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

    /// <summary>
    /// The moderation lists, NIP-40 expiry and the write-policy plugin (told <c>sourceType: "Import"</c>), as the gateway
    /// applies them to clients; a shadow rejection is not stored either.
    /// </summary>
    private static Func<NostrEvent, ValueTask<string?>> ImportPolicies(RelayPolicyOptions lists, WritePolicyPlugin? plugin)
    {
        var checks = PolicyPipeline.Moderation(lists);
        checks.Add(EventPolicies.NotExpired());
        var importer = ClientContext.ForImport();
        return async evt =>
        {
            foreach (var check in checks)
                if (check(evt, importer).Message is { } refused) return refused;
            if (plugin is null) return null;
            var verdict = await plugin.CheckAsync(evt, importer, CancellationToken.None);
            return verdict.IsShadowRejected ? "shadow-rejected by the write policy" : verdict.Message;
        };
    }
}
