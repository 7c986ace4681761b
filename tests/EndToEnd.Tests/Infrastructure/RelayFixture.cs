namespace NostrRelay.EndToEnd.Tests.Infrastructure;

/// <summary>One relay and one nostr-tools signer shared by a collection; each test uses its own fresh keys.</summary>
public sealed class RelayFixture : IAsyncLifetime
{
    public RelayServer Relay { get; private set; } = null!;
    public NostrTools Tools { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Tools = NostrTools.Start();
        Relay = await RelayServer.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await Relay.DisposeAsync();
        await Tools.DisposeAsync();
    }

    public Task<TestClient> ConnectAsync() => TestClient.ConnectAsync(Relay.Url);
}

[CollectionDefinition(Name)]
public sealed class RelayCollection : ICollectionFixture<RelayFixture>
{
    public const string Name = "relay";
}
