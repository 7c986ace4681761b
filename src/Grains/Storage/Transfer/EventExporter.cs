using NostrRelay.Protocol;

namespace NostrRelay.Storage.Transfer;

/// <summary>Writes every stored event as JSONL (one NIP-01 event a line, the stored bytes as they are), in position order.</summary>
public static class EventExporter
{
    private const int Page = 1_000;

    public static async Task<long> ExportAsync(IEventStore store, Stream output, TransferProgress progress, CancellationToken cancellationToken = default)
    {
        long position = 0, written = 0;
        while (true)
        {
            var read = 0;
            await foreach (var stored in store.ReadAllAsync(position, Page, cancellationToken))
            {
                await output.WriteAsync(stored.Event.Json, cancellationToken);
                output.WriteByte((byte)'\n');
                position = stored.Position;
                read++;
                progress.CountRead();
                progress.CountAccepted();
            }
            written += read;
            if (read < Page) break;
        }
        await output.FlushAsync(cancellationToken);
        return written;
    }
}
