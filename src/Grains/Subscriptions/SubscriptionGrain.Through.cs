namespace NostrRelay.Subscriptions;

/// <summary>
/// How far this activation has matched: the store position at or below which every live event that arrived here has
/// been matched and what it matched handed to the gateway (<see cref="NostrRelay.Grains.DeliveryBatch.Through"/>). A
/// resume after this activation is lost reads what was stored past it, so an event signed long before the newest a
/// client had, and committed while no activation held its subscription, still reaches it.
/// </summary>
internal sealed partial class SubscriptionGrain
{
    /// <summary>The highest position among the live events matched here.</summary>
    private long _matchedThrough;

    /// <summary>Through where every match has been handed on.</summary>
    private long _handedThrough;

    /// <summary>
    /// (deliveries queued so far, position matched through then), oldest first, for the matches not all handed on yet:
    /// once that many deliveries are handed on, everything through that position has been.
    /// </summary>
    private readonly List<(long Enqueued, long Through)> _marks = [];
    private int _firstMark;

    /// <summary>Set when a batch was given up on: what it held never reached the gateway, so no later batch vouches for it.</summary>
    private bool _throughStopped;

    /// <summary>
    /// Subscriptions that hold the position vouched for at where they started until their catch-up is done, as their live
    /// matches wait in a buffer: resumes, whose clients had everything up to their point, and REQs that replaced one with
    /// the same id (a gateway of an earlier build cannot tell the old one's EOSE from theirs; this build's gateways name
    /// each REQ apart, so theirs never replace one here). A new REQ reading its stored events holds
    /// nothing back meanwhile (lost before its EOSE went out, it is registered whole again); when it ends, the position
    /// comes down to where it started until what it buffered is handed on.
    /// </summary>
    private readonly List<LiveSubscription> _holding = [];

    /// <summary>The last position a batch carried, so a check-in with nothing queued sends one only when it moved.</summary>
    private long _reportedThrough;

    /// <summary>Called after a batch of live events was matched.</summary>
    private void Matched(long through)
    {
        if (through <= _matchedThrough) return;
        _matchedThrough = through;
        if (_throughStopped) return;
        MarkMatched();
    }

    /// <summary>After <see cref="Handed"/>: the marks now behind the handed count are vouched for, unless a batch was lost.</summary>
    private void ThroughHanded(bool delivered)
    {
        if (!delivered) _throughStopped = true;
        while (_firstMark < _marks.Count && _marks[_firstMark].Enqueued <= _handed)
        {
            if (!_throughStopped) _handedThrough = _marks[_firstMark].Through;
            _firstMark++;
        }
        if (_firstMark == _marks.Count)
        {
            _marks.Clear();
            _firstMark = 0;
        }
        else if (_firstMark > 64 && _firstMark * 2 > _marks.Count)
        {
            _marks.RemoveRange(0, _firstMark);
            _firstMark = 0;
        }
    }

    /// <summary>The position a batch can vouch for once the first <paramref name="handed"/> deliveries are with the gateway.</summary>
    private long ThroughAfter(long handed)
    {
        var through = _handedThrough;
        if (!_throughStopped)
        {
            for (var i = _firstMark; i < _marks.Count && _marks[i].Enqueued <= handed; i++) through = _marks[i].Through;
        }
        foreach (var subscription in _holding)
            if (subscription.CatchUpFloor < through) through = subscription.CatchUpFloor;
        return through;
    }

    /// <summary>A REQ or a resume starts reading stored events.</summary>
    /// <param name="resumedAfter">A resume's <see cref="NostrRelay.Grains.ResumePoint.AfterPosition"/> (0, unknown, vouches for nothing); null for a REQ.</param>
    /// <param name="replacing">True for a REQ with the id of one that was open.</param>
    private void CatchUpStarted(LiveSubscription subscription, long? resumedAfter, bool replacing)
    {
        // A REQ's live matches from here wait in its buffer; what was matched before it is in its stored events.
        subscription.CatchUpFloor = resumedAfter ?? _matchedThrough;
        subscription.CatchingUp = true;
        if (resumedAfter is not null || replacing) _holding.Add(subscription);
    }

    /// <summary>
    /// Its buffered matches are queued now (after EOSE, for a REQ), behind deliveries that marks already vouch past: those
    /// marks, and what was handed on, come down to where it started, and rise again once everything queued so far is
    /// handed on. The batch that carries its EOSE carries the lower position, and the gateway takes a lower one at once.
    /// </summary>
    private void CatchUpEnded(LiveSubscription subscription)
    {
        if (!subscription.CatchingUp) return;
        subscription.CatchingUp = false;
        _holding.Remove(subscription);
        var floor = subscription.CatchUpFloor;
        if (floor >= _matchedThrough || _throughStopped) return;
        for (var i = _firstMark; i < _marks.Count; i++)
            if (_marks[i].Through > floor) _marks[i] = (_marks[i].Enqueued, floor);
        if (_handedThrough > floor) _handedThrough = floor;
        MarkMatched();
    }

    /// <summary>What is matched now counts once every delivery queued so far is handed on: at once when none waits.</summary>
    private void MarkMatched()
    {
        if (_handed >= _enqueued && _marks.Count == _firstMark) _handedThrough = _matchedThrough;   // every match is with the gateway already
        else if (_marks.Count > _firstMark && _marks[^1].Enqueued == _enqueued) _marks[^1] = (_enqueued, _matchedThrough);
        else _marks.Add((_enqueued, _matchedThrough));
    }
}
