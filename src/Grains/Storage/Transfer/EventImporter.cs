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
    private readonly Dictionary<string, ImportLane> _lanes = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _inFlight = new(maxInFlight, maxInFlight);

    /// <summary>What <see cref="ImportLane"/> answers for an event the store already had.</summary>
    internal const string DuplicateOutcome = "duplicate";

    /// <summary>Lines that fail are counted as rejected and reported through <paramref name="onRejected"/> (line number, reason).</summary>
    public async Task ImportAsync(TextReader input, TransferProgress progress, Action<long, string>? onRejected = null, CancellationToken cancellationToken = default)
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
            if (!_lanes.TryGetValue(evt.Pubkey, out var lane))
            {
                lane = new ImportLane(store, evt.Pubkey, (answered, outcome) => Answered(answered, outcome, progress, onRejected));
                _lanes[evt.Pubkey] = lane;
            }
            lane.Add(new ImportLane.Line(evt, lineNumber, AdmitAsync(evt)));
        }
        foreach (var lane in _lanes.Values) await lane.Sent;
    }

    private Task<string?> AdmitAsync(NostrEvent evt) => admit is null ? Task.FromResult<string?>(null) : admit(evt).AsTask();

    private void Answered(ImportLane.Line line, string? outcome, TransferProgress progress, Action<long, string>? onRejected)
    {
        if (outcome is null) progress.CountAccepted();
        else if (outcome == DuplicateOutcome) progress.CountDuplicate();
        else Reject(progress, onRejected, line.Number, outcome);
        _inFlight.Release();
    }

    private static void Reject(TransferProgress progress, Action<long, string>? onRejected, long lineNumber, string reason)
    {
        progress.CountRejected();
        onRejected?.Invoke(lineNumber, reason);
    }
}
