using NostrRelay.GrainStorage;
using Orleans.Storage;

namespace NostrRelay.Storage.Tests;

public sealed class SqliteGrainStorageTests : GrainStorageConformance, IDisposable
{
    private readonly string _path = Path.Combine(Path.GetTempPath(), "nostr-relay-grain-state", Guid.NewGuid().ToString("N"), "relay.db");
    private readonly List<SqliteGrainStorage> _opened = [];

    protected override IGrainStorage Open()
    {
        var storage = new SqliteGrainStorage(_path);
        _opened.Add(storage);
        return storage;
    }

    public void Dispose()
    {
        foreach (var storage in _opened) storage.Dispose();
        var directory = Path.GetDirectoryName(_path)!;
        if (Directory.Exists(directory)) Directory.Delete(directory, recursive: true);
    }
}
