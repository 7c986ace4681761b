using NostrRelay.Hosting;

namespace NostrRelay.Connections;

/// <summary>
/// Records held by every NIP-77 session of this gateway (<see cref="RelayNegentropyOptions.MaxRecordsHeld"/>), so many
/// connections each reconciling a large filter cannot take the process's memory between them.
/// </summary>
internal sealed class NegentropyBudget(long maxRecords)
{
    private long _held;

    public long Held => Interlocked.Read(ref _held);

    public bool TryTake(long records)
    {
        while (true)
        {
            var held = Interlocked.Read(ref _held);
            if (held + records > maxRecords) return false;
            if (Interlocked.CompareExchange(ref _held, held + records, held) == held) return true;
        }
    }

    public void Release(long records) => Interlocked.Add(ref _held, -records);
}
