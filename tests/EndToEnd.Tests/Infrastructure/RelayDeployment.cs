namespace NostrRelay.EndToEnd.Tests.Infrastructure;

/// <summary>
/// A relay installation as an operator has one: a data directory and fixed ports, so the real process can
/// be started, killed and started again on the same store.
/// </summary>
public sealed class RelayDeployment : IDisposable
{
    private readonly string _data = Path.Combine(Path.GetTempPath(), "relay-process-" + Guid.NewGuid().ToString("N")[..8]);
    private readonly string[] _args;

    public RelayDeployment()
    {
        Directory.CreateDirectory(_data);
        var port = FreePort.Next();
        Url = new Uri($"ws://127.0.0.1:{port}/");
        _args =
        [
            "--Relay:Host=127.0.0.1", $"--Relay:Port={port}", $"--Relay:Store:Path={Path.Combine(_data, "relay.db")}",
            $"--Orleans:Endpoints:SiloPort={FreePort.Next()}", $"--Orleans:Endpoints:GatewayPort={FreePort.Next()}",
        ];
    }

    public Uri Url { get; }

    public Task<SiloProcess> StartAsync() => SiloProcess.StartAsync(_args);

    /// <summary>Starts the relay on the same store and returns which of the ids it has.</summary>
    public async Task<HashSet<string>> StoredIdsAfterRestartAsync(IReadOnlyCollection<string> ids)
    {
        using var relay = await StartAsync();
        await using var client = await TestClient.ConnectAsync(Url);
        var found = new HashSet<string>();
        foreach (var chunk in ids.Chunk(100))
            foreach (var evt in await client.QueryAsync("back", new { ids = chunk }))
                found.Add(Frames.Id(evt));
        return found;
    }

    public void Dispose()
    {
        try { Directory.Delete(_data, recursive: true); } catch (IOException) { }
    }
}
