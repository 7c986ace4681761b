using Microsoft.AspNetCore.Builder;
using NostrRelay.Silo.Hosting;

namespace NostrRelay.EndToEnd.Tests.Infrastructure;

/// <summary>The real relay host (silo, Sqlite store, gateway) in this process, on free loopback ports.</summary>
public sealed class RelayServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    public string DataDirectory { get; }
    public int Port { get; }
    public Uri Url => new($"ws://127.0.0.1:{Port}/");
    public Uri HttpUrl => new($"http://127.0.0.1:{Port}/");
    public IServiceProvider Services => _app.Services;

    private readonly bool _ownsData;

    private RelayServer(WebApplication app, int port, string dataDirectory, bool ownsData)
    {
        _app = app;
        Port = port;
        DataDirectory = dataDirectory;
        _ownsData = ownsData;
    }

    /// <summary>Settings are command-line style overrides, e.g. "Relay:Limits:MaxSubscriptions=3".</summary>
    public static Task<RelayServer> StartAsync(params string[] settings) => StartAsync(null, null, settings);

    /// <summary>
    /// On a given data directory (kept on dispose: start another relay on it to see what survived), with a
    /// hook to register services the way an embedder would.
    /// </summary>
    public static Task<RelayServer> StartAsync(string? dataDirectory, Action<WebApplicationBuilder>? customize, params string[] settings) =>
        StartAsync(dataDirectory, port: null, customize, settings);

    /// <summary>On a given port too: a relay started again where clients knew it.</summary>
    public static async Task<RelayServer> StartAsync(string? dataDirectory, int? port, Action<WebApplicationBuilder>? customize, params string[] settings)
    {
        port ??= FreePort.Next();
        var ownsData = dataDirectory is null;
        var data = dataDirectory ?? Path.Combine(Path.GetTempPath(), "relay-e2e-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(data);
        var args = new List<string>
        {
            "--Relay:Host=127.0.0.1", $"--Relay:Port={port}",
            $"--Relay:Store:Path={Path.Combine(data, "relay.db")}",
            $"--Orleans:Endpoints:SiloPort={FreePort.Next()}", $"--Orleans:Endpoints:GatewayPort={FreePort.Next()}",
            $"--Orleans:ClusterId=e2e-{port}",
            "--Logging:LogLevel:Default=Warning",
        };
        foreach (var setting in settings) args.Add("--" + setting);
        var app = RelayHost.Build(args.ToArray(), customize);
        await app.StartAsync();
        return new RelayServer(app, port.Value, data, ownsData);
    }

    public async Task StopAsync() => await _app.StopAsync();

    public async ValueTask DisposeAsync()
    {
        try { await _app.StopAsync(); } catch (ObjectDisposedException) { }
        await _app.DisposeAsync();
        if (_ownsData)
        {
            try { Directory.Delete(DataDirectory, recursive: true); } catch (IOException) { }
        }
    }
}
