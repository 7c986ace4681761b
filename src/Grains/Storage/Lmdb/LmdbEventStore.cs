using Microsoft.Extensions.Logging;
using NostrRelay.Storage.KeyValue;

namespace NostrRelay.Storage.Lmdb;

/// <summary>
/// The embedded key-value event store on LMDB, the engine strfry stores in: one directory, the layout and rules of
/// <see cref="KeyValueEventStore"/>, each batch one write transaction committed with an fsync. Reads are read
/// transactions on the memory map: no copy until a value is taken, and a reader never waits for the writer. The map
/// grows by itself when full (see <see cref="LmdbEngine"/>).
/// </summary>
public sealed class LmdbEventStore : KeyValueEventStore
{
    private readonly LmdbEventStoreOptions _options;
    private readonly string _path;

    public LmdbEventStore(LmdbEventStoreOptions options, ILogger<LmdbEventStore>? logger = null)
        : base("LMDB", options?.MaxWriteBatch ?? 0, options?.MaxQueuedWrites ?? 0, logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrWhiteSpace(options.Path);
        if (options.MapSizeBytes < 1 << 20) throw new ArgumentOutOfRangeException(nameof(options), "MapSizeBytes must be at least 1 MiB");
        _options = options;
        _path = System.IO.Path.GetFullPath(options.Path);
    }

    private protected override string Location => _path;

    private protected override bool Writable => !_options.ReadOnly;

    private protected override IKeyValueEngine OpenEngine() => new LmdbEngine(_path, _options.MapSizeBytes, _options.ReadOnly);
}
