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
internal sealed class ImportLane(IEventStore store, string pubkey, Action<ImportLane.Line, string?> done)
{
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

    private async Task SendAsync()
    {
        var round = new List<Line>();
        while (true)
        {
            lock (_waiting)
            {
                if (_waiting.Count == 0)
                {
                    _sending = false;
                    return;
                }
                while (_waiting.TryDequeue(out var line)) round.Add(line);
            }
            var admitted = new List<Line>(round.Count);
            foreach (var line in round)
            {
                string? refused;
                try { refused = await line.Refusal; }
                catch (Exception ex) { refused = "error: " + ex.Message; }
                if (refused is null) admitted.Add(line);
                else done(line, refused);
            }
            round.Clear();
            try
            {
                while (admitted.Count > 0) admitted = await RunRoundAsync(admitted);
            }
            catch (Exception ex)
            {
                foreach (var line in admitted) done(line, "error: " + ex.Message);
            }
        }
    }

    /// <summary>Saves what it can of <paramref name="lines"/> in one round; returns the lines for the next round.</summary>
    private async Task<List<Line>> RunRoundAsync(List<Line> lines)
    {
        _head ??= await store.ReadStreamHeadAsync(pubkey);
        var count = _oneAtATime ? 1 : lines.Count;
        var saves = new Task<SaveResult>[count];
        for (var i = 0; i < count; i++) saves[i] = SaveAsync(lines[i].Event, _head.Value + i);

        var next = new List<Line>();
        var broken = false;
        var conflicted = false;
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
                done(line, "error: " + ex.Message);
                continue;
            }
            if (result.Outcome == SaveOutcome.VersionConflict)
            {
                if (!broken)
                {
                    // Nothing before it failed to take its version: the relay wrote to this stream meanwhile.
                    conflicted = true;
                    if (line.Retried)
                    {
                        broken = true;
                        done(line, "error: the author's stream kept moving; import it again");
                        continue;
                    }
                    line.Retried = true;
                }
                broken = true;
                next.Add(line);
                continue;
            }
            if (result.Outcome != SaveOutcome.Saved) broken = true;
            if (result.Outcome == SaveOutcome.Superseded) superseded = true;
            if (result.Outcome == SaveOutcome.Saved) _head = result.Version;
            done(line, result.Outcome switch
            {
                SaveOutcome.Saved => null,
                SaveOutcome.Duplicate => EventImporter.DuplicateOutcome,
                SaveOutcome.Superseded => "replaced: have a newer version of this event",
                _ => "blocked: a deletion request (NIP-09) names this event",
            });
        }
        _oneAtATime = superseded;
        for (var i = count; i < lines.Count; i++) next.Add(lines[i]);
        if (conflicted)
        {
            try
            {
                _head = await store.ReadStreamHeadAsync(pubkey);
            }
            catch (Exception ex)
            {
                // Those waiting on the head are refused; the next round reads it again.
                _head = null;
                foreach (var line in next) done(line, "error: " + ex.Message);
                return [];
            }
        }
        return next;
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
