using NostrRelay.Grains;

namespace NostrRelay.Connections;

/// <summary>
/// The store position a gateway shard's resumes read from (<see cref="ResumePoint.AfterPosition"/>): one its grain
/// vouched for (<see cref="DeliveryBatch.Through"/>) at least <see cref="SettleMilliseconds"/> before. The grain vouches
/// for the events that reached it, and an event committed a moment earlier on another silo can still be on its way
/// there: a resume starts that much further back, and what it reads twice the subscription's window holds back. A
/// position lower than the last one is taken at once.
/// While the shard's REQs are being resumed on a new activation, what that activation vouches for is not taken: it does
/// not hold them all yet. Nor is what the batch on its way then carries, built before the last of them may have reached
/// it (a grain hands on one batch at a time, so the one after it was built after).
/// </summary>
internal sealed class MatchedThrough
{
    internal const long SettleMilliseconds = 1000;

    private long _settled;
    private long _candidate;
    private long _candidateAt;
    /// <summary>The last position taken: lower than the settled one when a REQ's end brought it down.</summary>
    private long _latest;
    private bool _resuming;
    /// <summary>Batches numbered up to this one (of the current activation) may lack a resumed REQ.</summary>
    private long _ignoredThrough;

    /// <summary>
    /// A batch numbered <paramref name="number"/>, taken from the current activation and handed on, vouched for
    /// <paramref name="through"/>; <paramref name="now"/> in milliseconds.
    /// </summary>
    public void Record(long through, long number, long now)
    {
        if (_resuming || number <= _ignoredThrough) return;
        _latest = through;   // 0 too: the grain vouches for nothing now (a REQ ended before it had matched anything)
        if (through <= 0) return;
        if (_candidate == 0)
        {
            _candidate = through;
            _candidateAt = now;
        }
        else if (now - _candidateAt >= SettleMilliseconds)
        {
            _settled = _candidate;
            _candidate = through;
            _candidateAt = now;
        }
    }

    /// <summary>
    /// Where a resume made now reads from: what settled, or the last position taken when that is lower (the grain lowers
    /// it while a REQ that just ended hands on what it buffered); 0 when nothing has settled yet.
    /// </summary>
    public long At(long now)
    {
        var settled = _candidate != 0 && now - _candidateAt >= SettleMilliseconds ? _candidate : _settled;
        return Math.Min(settled, _latest);
    }

    /// <summary>The grain came back as a new activation: its REQs are registered again from here.</summary>
    public void Resuming() => _resuming = true;

    /// <summary>
    /// Every REQ is registered again. <paramref name="newestTaken"/>: the newest batch number taken from the new
    /// activation; the one after it may be on its way, built before the last REQ was registered.
    /// </summary>
    public void Resumed(long newestTaken)
    {
        _resuming = false;
        _ignoredThrough = newestTaken + 1;
    }
}
