using NostrRelay.Hosting;

namespace NostrRelay.Silo.Sync;

/// <summary>Runs <c>sync</c> or <c>stream</c> from the command line: arguments, configuration, Ctrl-C, exit status.</summary>
internal static class SyncCommandLine
{
    public static bool IsCommand(string[] args) => args.Length > 0 && args[0] is "sync" or "stream";

    public static async Task<int> RunAsync(string[] args)
    {
        var arguments = SyncArguments.Parse(args, out var error);
        if (arguments is null)
        {
            Console.Error.WriteLine($"{args[0]}: {error}");
            Console.Error.WriteLine(SyncArguments.Usage);
            return 2;
        }
        var builder = WebApplication.CreateBuilder(arguments.Configuration);
        var relay = arguments.Relay ?? LocalRelay(builder.Configuration);
        using var stop = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) => { e.Cancel = true; stop.Cancel(); };
        using var terminate = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Cancel(); });
        try
        {
            if (arguments.Command == "stream") return await new StreamCommand(arguments, relay).RunAsync(stop.Token);
            await using var store = EventStoreFactory.Create(builder.Configuration.GetSection("Relay:Store"), builder.Environment.ContentRootPath, readOnly: true);
            try
            {
                await store.InitAsync(stop.Token);
            }
            catch (InvalidOperationException ex)   // a file this build cannot open as asked, e.g. one to convert first
            {
                Console.Error.WriteLine($"{arguments.Command}: {ex.Message}");
                return 1;
            }
            var auth = builder.Configuration.GetSection("Relay:Auth").Get<NostrRelay.Hosting.RelayAuthOptions>() ?? new NostrRelay.Hosting.RelayAuthOptions();
            return await new SyncCommand(arguments, store, relay, auth.GatedKinds).RunAsync(stop.Token);
        }
        catch (SyncException ex)
        {
            Console.Error.WriteLine($"{arguments.Command}: {ex.Message}");
            return 1;
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            Console.Error.WriteLine($"{arguments.Command}: stopped");
            return 130;
        }
    }

    /// <summary>The running relay as configured: its port, on loopback unless it listens on one address only.</summary>
    private static Uri LocalRelay(IConfiguration configuration)
    {
        var host = configuration["Relay:Host"];
        if (string.IsNullOrEmpty(host) || host is "0.0.0.0" or "::" or "*" or "+") host = "127.0.0.1";
        var port = configuration["Relay:Port"] ?? "7777";
        return new Uri($"ws://{(host.Contains(':') ? $"[{host}]" : host)}:{port}/");
    }
}
