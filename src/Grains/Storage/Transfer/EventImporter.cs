using System.Text;
using NostrRelay.Crypto;
using NostrRelay.Protocol;

namespace NostrRelay.Storage.Transfer;

/// <summary>
/// Reads JSONL (one event a line), checks each event as the gateway would (shape, id, signature) and
/// appends it to its author's stream with the same rules as a live EVENT: duplicates are counted,
/// older replaceable versions are superseded, ephemeral kinds are not stored. Many events are in flight
/// at once so the store commits them in groups; one author's events keep their order. <paramref name="admit"/>
/// (the relay's moderation: allow and deny lists, expiry, a write-policy plugin) refuses an event with its reason, or
/// admits it with null; it is asked for many events at once;
/// rate, time and proof-of-work limits are for live clients and do not apply, so history can be brought in.
/// </summary>
public sealed class EventImporter(IEventStore store, EventVerifier verifier, int maxInFlight = 256, Func<NostrEvent, ValueTask<string?>>? admit = null)
{
    private readonly Dictionary<string, long> _heads = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Task> _tails = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _inFlight = new(maxInFlight, maxInFlight);

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
            var number = lineNumber;
            lock (_tails)
            {
                _tails.TryGetValue(evt.Pubkey, out var previous);
                _tails[evt.Pubkey] = AppendAsync(evt, previous, progress, onRejected, number);
            }
        }
        Task[] pending;
        lock (_tails) pending = [.. _tails.Values];
        await Task.WhenAll(pending);
    }

    private async Task AppendAsync(NostrEvent evt, Task? previous, TransferProgress progress, Action<long, string>? onRejected, long lineNumber)
    {
        try
        {
            if (admit is not null && await admit(evt) is { } refused)
            {
                if (previous is not null) await previous;
                Reject(progress, onRejected, lineNumber, refused);
                return;
            }
            if (previous is not null) await previous;
            long head;
            lock (_heads) _heads.TryGetValue(evt.Pubkey, out head);
            if (head == 0) head = await store.ReadStreamHeadAsync(evt.Pubkey);
            var result = await SaveAsync(evt, head);
            if (result.Outcome == SaveOutcome.VersionConflict)   // the relay wrote to this stream meanwhile
                result = await SaveAsync(evt, await store.ReadStreamHeadAsync(evt.Pubkey));
            switch (result.Outcome)
            {
                case SaveOutcome.Saved:
                    lock (_heads) _heads[evt.Pubkey] = result.Version;
                    progress.CountAccepted();
                    break;
                case SaveOutcome.Duplicate:
                    progress.CountDuplicate();
                    break;
                case SaveOutcome.Superseded:
                    Reject(progress, onRejected, lineNumber, "replaced: have a newer version of this event");
                    break;
                case SaveOutcome.Deleted:
                    Reject(progress, onRejected, lineNumber, "blocked: a deletion request (NIP-09) names this event");
                    break;
                default:
                    Reject(progress, onRejected, lineNumber, "error: the author's stream kept moving; import it again");
                    break;
            }
        }
        catch (Exception ex)
        {
            Reject(progress, onRejected, lineNumber, "error: " + ex.Message);
        }
        finally
        {
            _inFlight.Release();
        }
    }

    private Task<SaveResult> SaveAsync(NostrEvent evt, long head) =>
        evt.Address is null ? store.SaveAsync(evt, evt.Pubkey, head) : store.ReplaceAsync(evt, evt.Pubkey, head);

    private static void Reject(TransferProgress progress, Action<long, string>? onRejected, long lineNumber, string reason)
    {
        progress.CountRejected();
        onRejected?.Invoke(lineNumber, reason);
    }
}
