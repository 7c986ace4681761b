using System.Text;
using NostrRelay.Crypto;
using NostrRelay.Protocol;

namespace NostrRelay.Storage.Transfer;

/// <summary>
/// Reads JSONL (one event a line), checks each event as the gateway would (shape, id, signature) and
/// appends it to its author's stream with the same rules as a live EVENT: duplicates are counted,
/// older replaceable versions are superseded, ephemeral kinds are not stored. Many events are in flight
/// at once so the store commits them in groups, one author's too (<see cref="ImportLane"/>); one author's events
/// keep their order. <paramref name="admit"/>
/// (the relay's moderation: allow and deny lists, expiry, a write-policy plugin) refuses an event with its reason, or
/// admits it with null; it is asked for many events at once;
/// rate, time and proof-of-work limits are for live clients and do not apply, so history can be brought in.
/// </summary>
public sealed class EventImporter(IEventStore store, EventVerifier verifier, int maxInFlight = 256, Func<NostrEvent, ValueTask<string?>>? admit = null)
{
    private readonly SemaphoreSlim _inFlight = new(maxInFlight, maxInFlight);

    /// <summary>
    /// Lines that fail are counted as rejected and reported through <paramref name="onRejected"/> (line number, reason).
    /// Returns once every line read is answered, also when reading stops on an error or a cancellation.
    /// </summary>
    public async Task ImportAsync(TextReader input, TransferProgress progress, Action<long, string>? onRejected = null, CancellationToken cancellationToken = default)
    {
        var lanes = new Dictionary<string, ImportLane>(StringComparer.Ordinal);
        try
        {
            long lineNumber = 0;
            while (await input.ReadLineAsync(cancellationToken) is { } line)
            {
                lineNumber++;
                if (string.IsNullOrWhiteSpace(line)) continue;
                progress.CountRead();
                NostrEvent evt;
                try
                {
                    evt = EventReader.Parse(Encoding.UTF8.GetBytes(line));
                }
                catch (Exception ex) when (ex is FormatException or System.Text.Json.JsonException)
                {
                    Reject(progress, onRejected, lineNumber, ex is FormatException ? ex.Message : "invalid: malformed JSON");
                    continue;
                }
                if (verifier.Check(evt) is { } problem)
                {
                    Reject(progress, onRejected, lineNumber, problem);
                    continue;
                }
                if (EventKind.IsEphemeral(evt.Kind))
                {
                    Reject(progress, onRejected, lineNumber, "invalid: ephemeral events are not stored");
                    continue;
                }
                await _inFlight.WaitAsync(cancellationToken);
                if (!lanes.TryGetValue(evt.Pubkey, out var lane))
                {
                    lane = new ImportLane(store, evt.Pubkey, (answered, outcome, reason) => Answered(answered, outcome, reason, progress, onRejected));
                    lanes[evt.Pubkey] = lane;
                }
                lane.Add(new ImportLane.Line(evt, lineNumber, AdmitAsync(evt)));
            }
        }
        finally
        {
            foreach (var lane in lanes.Values) await lane.Sent;
        }
    }

    private Task<string?> AdmitAsync(NostrEvent evt)
    {
        if (admit is null) return Task.FromResult<string?>(null);
        try
        {
            return admit(evt).AsTask();
        }
        catch (Exception ex)
        {
            return Task.FromException<string?>(ex);
        }
    }

    /// <summary>Never throws: a lane's answer must not be lost to the caller's reporting.</summary>
    private void Answered(ImportLane.Line line, ImportOutcome outcome, string? reason, TransferProgress progress, Action<long, string>? onRejected)
    {
        try
        {
            switch (outcome)
            {
                case ImportOutcome.Accepted: progress.CountAccepted(); break;
                case ImportOutcome.Duplicate: progress.CountDuplicate(); break;
                default:
                    progress.CountRejected();
                    onRejected?.Invoke(line.Number, reason ?? "error");
                    break;
            }
        }
        catch (Exception)
        {
            // The count is kept; a failing report of one line does not stop the import.
        }
        finally
        {
            _inFlight.Release();
        }
    }

    private static void Reject(TransferProgress progress, Action<long, string>? onRejected, long lineNumber, string reason)
    {
        progress.CountRejected();
        onRejected?.Invoke(lineNumber, reason);
    }
}
