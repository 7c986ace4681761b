using System.Diagnostics;
using NostrRelay.Grains;
using NostrRelay.Hosting;
using NostrRelay.Storage;
using NostrRelay.Syncing;

namespace NostrRelay.Silo.Sync;

/// <summary>
/// <c>sync</c>: reconciles this relay with another over NIP-77, reading this relay's own records straight from its
/// configured store, then downloads what this relay lacks and publishes it through the running relay's EVENT path
/// (so author grains, moderation and live subscribers see every event, as for any client), and uploads what the
/// other lacks. Progress on stderr; a summary at the end; non-zero when either relay fails or does not answer.
/// </summary>
/// <param name="privateKinds">
/// The kinds this relay serves only to their parties (NIP-42 gating): left out of this side's records, so never
/// uploaded to a relay that may serve them to anyone; downloading them stays the other relay's decision.
/// </param>
internal sealed class SyncCommand(SyncArguments arguments, IEventStore store, Uri relay, int[]? privateKinds)
{
    /// <summary>Bytes of one negentropy message this side sends (before hex): under strfry's 128 KiB frames once hex-encoded.</summary>
    private const int FrameSizeLimit = 60_000;

    private const int PublishWindow = 256;
    private const int UploadBatch = 500;

    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var down = arguments.Direction is SyncDirection.Down or SyncDirection.Both;
        var up = arguments.Direction is SyncDirection.Up or SyncDirection.Both;
        // This relay first: downloads go through it, so with none running there is nothing to do.
        await using var local = down ? await ConnectLocalAsync(cancellationToken) : null;

        Report($"reading this relay's records for {arguments.FilterJson}");
        var read = await new NegentropyRecordReader(store).ReadAsync(new NegentropyRequest(arguments.Filter, int.MaxValue, privateKinds, Parties: []), cancellationToken);
        var records = read.Records!;
        Report($"{records.Count:N0} records here; reconciling with {arguments.Other}");

        await using var remote = await RelaySocket.ConnectAsync(arguments.Other, arguments.Timeout, cancellationToken);
        var outcome = await new NegentropyClient(remote, arguments.Timeout, FrameSizeLimit).ReconcileAsync(arguments.FilterJson, records, Report, cancellationToken);
        Report($"reconciled in {outcome.Rounds} rounds ({outcome.BytesSent:N0} bytes sent, {outcome.BytesReceived:N0} received): " +
            $"have {outcome.Have.Count:N0} the other lacks, need {outcome.Need.Count:N0}");

        long received = 0, sent = 0;
        List<string> missing = [];
        EventPublisher? intoLocal = null, intoRemote = null;
        try
        {
            if (down && outcome.Need.Count > 0)
            {
                intoLocal = new EventPublisher(local!, PublishWindow, arguments.Timeout);
                var ids = outcome.Need.Select(Convert.ToHexStringLower).ToList();
                var downloader = new EventDownloader(remote, arguments.Timeout);
                await foreach (var (id, json) in downloader.DownloadAsync(ids, cancellationToken))
                {
                    await intoLocal.PublishAsync(id, json, cancellationToken);
                    if (++received % 5_000 == 0) Report($"received {received:N0} of {ids.Count:N0}");
                }
                await intoLocal.DrainAsync(cancellationToken);
                missing = downloader.Missing;
            }
            if (up && outcome.Have.Count > 0)
            {
                var upload = await RelaySocket.ConnectAsync(arguments.Other, arguments.Timeout, cancellationToken);
                intoRemote = new EventPublisher(upload, PublishWindow, arguments.Timeout);
                try
                {
                    var ids = outcome.Have.Select(Convert.ToHexStringLower).ToList();
                    for (var start = 0; start < ids.Count; start += UploadBatch)
                    {
                        var batch = ids.GetRange(start, Math.Min(UploadBatch, ids.Count - start)).ToArray();
                        await foreach (var evt in store.QueryAsync(new Protocol.Filter { Ids = batch }, cancellationToken))
                        {
                            await intoRemote.PublishAsync(evt.Id, evt.JsonText, cancellationToken);
                            if (++sent % 5_000 == 0) Report($"sent {sent:N0} of {ids.Count:N0}");
                        }
                    }
                    await intoRemote.DrainAsync(cancellationToken);
                }
                finally
                {
                    await intoRemote.DisposeAsync();
                    await upload.DisposeAsync();
                }
            }
        }
        finally
        {
            if (intoLocal is not null) await intoLocal.DisposeAsync();
        }

        var summary = $"sync: have {outcome.Have.Count:N0}, need {outcome.Need.Count:N0}";
        if (down) summary += $"; received {received:N0}: stored {intoLocal?.Stored ?? 0:N0}, duplicate {intoLocal?.Duplicates ?? 0:N0}, rejected {intoLocal?.Rejected ?? 0:N0}";
        if (up) summary += $"; sent {sent:N0}: stored {intoRemote?.Stored ?? 0:N0}, duplicate {intoRemote?.Duplicates ?? 0:N0}, rejected {intoRemote?.Rejected ?? 0:N0}";
        Console.Error.WriteLine($"{summary} ({clock.Elapsed.TotalSeconds:0.0} s)");
        foreach (var publisher in new[] { intoLocal, intoRemote })
            if (publisher is not null)
                foreach (var (reason, count) in publisher.Reasons) Console.Error.WriteLine($"  rejected {count:N0}: {reason}");
        if (missing.Count > 0)
        {
            Console.Error.WriteLine($"sync: {arguments.Other} did not send {missing.Count:N0} of the events it has, e.g. {missing[0]}");
            return 1;
        }
        return 0;
    }

    private async Task<RelaySocket> ConnectLocalAsync(CancellationToken cancellationToken)
    {
        try
        {
            return await RelaySocket.ConnectAsync(relay, arguments.Timeout, cancellationToken);
        }
        catch (SyncException ex)
        {
            throw new SyncException($"no relay is running at {relay} ({ex.Message}); start it (dotnet run --project src/Silo), " +
                "or name it with --relay: downloaded events are published through it");
        }
    }

    private static void Report(string line) => Console.Error.WriteLine("sync: " + line);
}
