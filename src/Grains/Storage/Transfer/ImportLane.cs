using NostrRelay.Protocol;

namespace NostrRelay.Storage.Transfer;

/// <summary>
/// One author's events during an import. One round of saves is out at a time; the events read meanwhile go in the
/// next round, all handed to the store at once, each expecting the version the events before it would leave, as an
/// author grain does (its rules, in src/Grains/Streams/AuthorStreamGrain.Pipeline.cs): the store decides them in order
/// in one group commit, so importing one author's history costs a commit per round, not one per event. An event after
/// one that was not saved comes back a version conflict and goes first into the next round; after a superseded event
/// rounds take one event until one is saved.
/// </summary>
internal sealed class ImportLane(IEventStore store, string pubkey, Action<ImportLane.Line, ImportOutcome, string?> done)
{
    /// <summary>Lines handed to the store in one round; more wait for the next.</summary>
    private const int MaxRound = 256;

    /// <summary>A line of the import: its event, its number, and the policies' verdict still coming.</summary>
    internal sealed record Line(NostrEvent Event, long Number, Task<string?> Refusal)
    {
        public bool Retried { get; set; }
    }

    private readonly Queue<Line> _waiting = new();
    private bool _sending;
    private long? _head;
    private bool _oneAtATime;
    private Task _sent = Task.CompletedTask;

    /// <summary>Completes once every line given so far is answered.</summary>
    public Task Sent { get { lock (_waiting) return _sent; } }

    public void Add(Line line)
    {
        lock (_waiting)
        {
            _waiting.Enqueue(line);
            if (_sending) return;
            _sending = true;
            _sent = SendAsync();
        }
    }

    /// <summary>Never throws: every line it takes is answered through <c>done</c>.</summary>
    private async Task SendAsync()
    {
        await Task.Yield();   // off the reading loop and out of Add's lock: a store that answers at once runs here
        var carried = new List<Line>();
        while (true)
        {
            var taken = new List<Line>();
            lock (_waiting)
            {
                if (_waiting.Count == 0 && carried.Count == 0)
                {
                    _sending = false;
                    return;
                }
                while (_waiting.TryDequeue(out var line)) taken.Add(line);
            }
            foreach (var line in taken)
            {
                string? refused;
                try { refused = await line.Refusal; }
                catch (Exception ex) { refused = "error: " + ex.Message; }
                if (refused is null) carried.Add(line);
                else done(line, ImportOutcome.Rejected, refused);
            }
            if (carried.Count == 0) continue;
            try
            {
                carried = await RunRoundAsync(carried);
            }
            catch (Exception ex)
            {
                // The stream's head could not be read: nothing of this round was sent.
                foreach (var line in carried) done(line, ImportOutcome.Rejected, "error: " + ex.Message);
                carried.Clear();
            }
        }
    }

    /// <summary>Saves what it can of the first lines of <paramref name="lines"/> in one round; returns the lines left, in order.</summary>
    private async Task<List<Line>> RunRoundAsync(List<Line> lines)
    {
        _head ??= await store.ReadStreamHeadAsync(pubkey);
        var count = Math.Min(lines.Count, _oneAtATime ? 1 : MaxRound);
        var saves = new Task<SaveResult>[count];
        for (var i = 0; i < count; i++) saves[i] = SaveAsync(lines[i].Event, _head.Value + i);

        var conflicts = new List<Line>();
        var broken = false;
        var foreign = false;
        var superseded = false;
        for (var i = 0; i < count; i++)
        {
            var line = lines[i];
            SaveResult result;
            try
            {
                result = await saves[i];
            }
            catch (Exception ex)
            {
                broken = true;
                done(line, ImportOutcome.Rejected, "error: " + ex.Message);
                continue;
            }
            if (result.Outcome == SaveOutcome.VersionConflict)
            {
                if (!broken)
                {
                    // Nothing before it failed to take its version: the relay wrote to this stream meanwhile.
                    foreign = true;
                    if (line.Retried)
                    {
                        broken = true;
                        done(line, ImportOutcome.Rejected, "error: the author's stream kept moving; import it again");
                        continue;
                    }
                    line.Retried = true;
                }
                broken = true;
                conflicts.Add(line);
                continue;
            }
            if (result.Outcome != SaveOutcome.Saved) broken = true;
            if (result.Outcome == SaveOutcome.Superseded) superseded = true;
            switch (result.Outcome)
            {
                case SaveOutcome.Saved:
                    _head = result.Version;
                    done(line, ImportOutcome.Accepted, null);
                    break;
                case SaveOutcome.Duplicate:
                    done(line, ImportOutcome.Duplicate, null);
                    break;
                case SaveOutcome.Superseded:
                    done(line, ImportOutcome.Rejected, "replaced: have a newer version of this event");
                    break;
                default:
                    done(line, ImportOutcome.Rejected, "blocked: a deletion request (NIP-09) names this event");
                    break;
            }
        }
        _oneAtATime = superseded;
        if (foreign)
        {
            try
            {
                _head = await store.ReadStreamHeadAsync(pubkey);
            }
            catch (Exception ex)
            {
                // Those that waited on the head are refused; the lines not sent yet wait, and the next round reads it again.
                _head = null;
                foreach (var line in conflicts) done(line, ImportOutcome.Rejected, "error: " + ex.Message);
                conflicts.Clear();
            }
        }
        conflicts.AddRange(lines.Skip(count));
        return conflicts;
    }

    private Task<SaveResult> SaveAsync(NostrEvent evt, long expected)
    {
        try
        {
            return evt.Address is null ? store.SaveAsync(evt, pubkey, expected) : store.ReplaceAsync(evt, pubkey, expected);
        }
        catch (Exception ex)
        {
            return Task.FromException<SaveResult>(ex);
        }
    }
}

/// <summary>What became of an imported line.</summary>
internal enum ImportOutcome { Accepted, Duplicate, Rejected }
